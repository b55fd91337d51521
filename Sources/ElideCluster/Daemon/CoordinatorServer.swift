import ElideSupport
import ElideWire
import Foundation
import Synchronization

/// Settings of the coordinator daemon, from flags or a config file.
public struct CoordinatorOptions: Sendable {
    /// Address for workers and clients; port 0 picks a free port, written to `<state-dir>/coordinator.addr`.
    public var listen: WireAddress
    /// Folder for the journal, the artifact store, the token and the address file.
    public var stateDirectory: String
    /// Address of the HTTP `/metrics` and `/healthz` endpoint; nil serves none.
    public var metricsListen: WireAddress?
    /// File holding the cluster token when `ELIDE_CLUSTER_TOKEN` is unset; nil uses `<state-dir>/token`,
    /// generating it on first start.
    public var tokenFile: String?
    /// Heartbeat interval announced to workers. Default 1 s.
    public var heartbeatInterval: Duration = .seconds(1)
    /// Silence after which a worker is dead. Default 10 s.
    public var heartbeatTimeout: Duration = .seconds(10)
    /// Largest frame accepted; larger length prefixes are rejected before allocating. Default 64 MiB.
    public var maxFrameBytes = WireProtocol.defaultMaxFrameBytes
    /// Maximum wait for a new peer's hello. Default 10 s.
    public var handshakeTimeout: Duration = .seconds(10)

    public init(listen: WireAddress, stateDirectory: String) {
        self.listen = listen
        self.stateDirectory = stateDirectory
    }
}

/// The coordinator daemon: accepts workers and clients on OS threads, feeds their messages to the
/// `CoordinatorCore` under one lock, and sends the resulting directives through per-worker outboxes.
public final class CoordinatorServer: Sendable {
    struct State: Sendable {
        var core: CoordinatorCore
        var sessions: [WorkerID: Outbox] = [:]
        var connections: [ObjectIdentifier: FramedConnection] = [:]
        var closedBytesSent = 0
        var closedBytesReceived = 0
        var isClosed = false
    }

    public let options: CoordinatorOptions
    public let address: WireAddress
    public let metricsAddress: WireAddress?
    public let artifacts: ArtifactStore
    let logger: Logger
    let token: ClusterToken
    let coordinatorID: String
    let startedAt = MonotonicInstant.now()
    let state: Locked<State>
    let listener: TCPListener
    private let metricsListener: TCPListener?
    private let http: Locked<HTTPEndpoint?> = Locked(nil)
    private let threads: Locked<[OSThread]> = Locked([])
    let stopping = Atomic<Bool>(false)

    /// Opens the state folder, replays the journal and binds the listeners; call `start()` to serve.
    public init(options: CoordinatorOptions, registry: JobKindRegistry, logger: Logger) throws {
        self.options = options
        self.logger = logger
        let folder = options.stateDirectory
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        token = try CoordinatorServer.loadToken(options: options, logger: logger)
        artifacts = try ArtifactStore(root: folder + "/artifacts")
        coordinatorID = String(UInt64.random(in: 1...UInt64.max), radix: 16)

        let (journal, records) = try Journal.open(directory: folder, logger: logger)
        let settings = CoordinatorSettings(
            failureDetector: FailureDetectorSettings(
                heartbeatInterval: options.heartbeatInterval, deadTimeout: options.heartbeatTimeout))
        var core = CoordinatorCore(registry: registry, settings: settings, journal: journal, logger: logger)
        let replayedArtifacts = try core.replay(records)
        state = Locked(State(core: core))

        listener = try TCPListener(address: options.listen)
        address = listener.address
        metricsListener = try options.metricsListen.map { try TCPListener(address: $0) }
        metricsAddress = metricsListener?.address
        try writeAddressFile()
        for case .storeArtifacts(let contents) in replayedArtifacts { storeArtifacts(contents) }
    }

    /// Starts the accept loop, the failure-detection ticker and the metrics endpoint; returns at once.
    public func start() {
        if let metricsListener {
            let endpoint = HTTPEndpoint(listener: metricsListener, logger: logger) { [self] path in respondHTTP(path) }
            http.withLock { $0 = endpoint }
        }
        let accept = OSThread.start(name: "accept") { [self] in acceptLoop() }
        let ticker = OSThread.start(name: "ticker") { [self] in tickLoop() }
        threads.withLock { $0 += [accept, ticker] }
        logger.info(
            "coordinator listening", ("address", address.description),
            ("metrics", metricsAddress?.description ?? "off"), ("state_dir", options.stateDirectory))
    }

    /// Stops accepting jobs and connections, closes every connection and returns once nothing more is
    /// journaled. Every accepted submission and result was synced when it was acknowledged.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        logger.info("coordinator stopping")
        listener.close()
        http.withLock { $0 }?.close()
        let connections = state.withLock { state -> [FramedConnection] in
            state.core.beginStopping()
            state.isClosed = true
            for outbox in state.sessions.values { outbox.close() }
            return Array(state.connections.values)
        }
        for connection in connections { connection.close() }
        state.broadcast()
        for thread in threads.withLock({ $0 }) { thread.join() }
        logger.info("coordinator stopped")
    }

    // MARK: - Applying events

    /// Runs `body` on the state under the lock and carries out the directives it returns; returns nil once the
    /// server is closed. A journal failure is fatal: the process exits with status 1, keeping the journal
    /// intact up to the last synced record. Other errors are rethrown.
    @discardableResult
    func mutateThrowing<Result>(
        _ body: (inout State) throws -> (Result, [CoordinatorDirective])
    ) throws -> Result? {
        var finished = false
        let result = try state.withLock { state -> Result? in
            guard !state.isClosed else { return nil }
            do {
                let (result, directives) = try body(&state)
                finished = perform(directives, in: &state)
                return result
            } catch let error as JournalError {
                logger.log(.critical, "journal write failed; stopping", metadata: [("error", error.description)])
                exit(1)
            }
        }
        if finished { state.broadcast() }
        return result
    }

    /// Like `mutateThrowing`, for bodies whose only errors are journal failures.
    @discardableResult
    func mutate<Result>(_ body: (inout State) throws -> (Result, [CoordinatorDirective])) -> Result? {
        do {
            return try mutateThrowing(body)
        } catch {
            logger.error("coordinator event failed", ("error", "\(error)"))
            return nil
        }
    }

    /// Sends directives to workers; returns true when a job finished, so waiting clients must wake.
    private func perform(_ directives: [CoordinatorDirective], in state: inout State) -> Bool {
        var finished = false
        var cancelled: Set<String> = []
        for directive in directives {
            switch directive {
            case .assign(let assignment, let worker):
                state.sessions[worker]?.send(.taskAssignment(assignment.wireMessage))
            case .cancel(let attempt, let worker):
                let key = "\(worker) \(attempt.task.job)"
                guard cancelled.insert(key).inserted else { continue }
                let message = WireMessage.Cancel(jobID: attempt.task.job.description, reason: "job finished")
                state.sessions[worker]?.send(.cancel(message))
            case .disconnect(let worker, let reason):
                if let outbox = state.sessions.removeValue(forKey: worker) {
                    outbox.send(.error(WireMessage.ErrorMessage(code: .shuttingDown, message: reason)))
                    outbox.close()
                    outbox.connection.close()
                }
            case .storeArtifacts(let contents):
                storeArtifacts(contents)
            case .jobFinished(let job, let jobState):
                finished = true
                if jobState == .succeeded, let report = state.core.jobs[job]?.report {
                    saveReport(report, of: job)
                }
            }
        }
        return finished
    }

    /// Puts artifacts that a driver derived into the store. A failure is logged: the tasks that name the
    /// artifact then fail when their worker cannot fetch it, which fails the job with the worker's error.
    private func storeArtifacts(_ contents: [[UInt8]]) {
        for bytes in contents {
            do {
                let digest = try artifacts.put(bytes)
                logger.debug("artifact stored", ("artifact", digest.hex), ("bytes", String(bytes.count)))
            } catch {
                logger.error("cannot store a job's artifact", ("bytes", String(bytes.count)), ("error", "\(error)"))
            }
        }
    }

    /// Writes a finished job's report under `<state-dir>/jobs/<job>/` (see `ReportFiles`). A failure is
    /// logged: the report stays available from `elide result`.
    private func saveReport(_ report: JobReport, of job: JobID) {
        let folder = options.stateDirectory + "/jobs/" + job.description
        do {
            let files = try ReportFiles.write(report, to: folder)
            logger.info(
                "job report saved", ("job.id", job.description), ("folder", folder), ("files", "\(files.count)"))
        } catch {
            logger.error(
                "cannot save the job report", ("job.id", job.description), ("folder", folder), ("error", "\(error)"))
        }
    }

    // MARK: - Loops

    private func acceptLoop() {
        while !stopping.load(ordering: .acquiring) {
            let connection: TCPConnection
            do {
                connection = try listener.accept()
            } catch {
                if !stopping.load(ordering: .acquiring) {
                    logger.error("accept failed; no new peers can connect", ("error", "\(error)"))
                }
                return
            }
            let framed = FramedConnection(
                connection, settings: FramedConnection.Settings(maxFrameBytes: options.maxFrameBytes))
            _ = OSThread.start(name: "peer-\(connection.peerAddress)") { [self] in servePeer(framed) }
        }
    }

    private func tickLoop() {
        while !stopping.load(ordering: .acquiring) {
            var pause = timespec(tv_sec: 0, tv_nsec: 100_000_000)
            nanosleep(&pause, nil)
            mutate { state in
                ((), try state.core.tick(now: .now(), wallTime: wallClockSeconds()))
            }
        }
    }

    // MARK: - Helpers

    func statusSnapshot(_ state: State) -> ClusterStatus {
        let info = CoordinatorInfo(
            address: address.description, processID: getpid(),
            uptimeSeconds: (MonotonicInstant.now() - startedAt).seconds,
            isStopping: stopping.load(ordering: .relaxed))
        return state.core.status(now: .now(), wallTime: wallClockSeconds(), coordinator: info)
    }

    private func respondHTTP(_ path: String) -> (status: Int, contentType: String, body: String) {
        switch path {
        case "/healthz":
            return stopping.load(ordering: .relaxed) ? (503, "text/plain", "stopping\n") : (200, "text/plain", "ok\n")
        case "/metrics":
            let text = state.withLock { state in
                let live = state.connections.values
                return MetricsText.render(
                    status: statusSnapshot(state), metrics: state.core.metrics,
                    bytesSent: state.closedBytesSent + live.reduce(0) { $0 + $1.bytesSent },
                    bytesReceived: state.closedBytesReceived + live.reduce(0) { $0 + $1.bytesReceived })
            }
            return (200, "text/plain; version=0.0.4", text)
        default:
            return (404, "text/plain", "not found; try /metrics or /healthz\n")
        }
    }

    private static func loadToken(options: CoordinatorOptions, logger: Logger) throws -> ClusterToken {
        let environment = ProcessInfo.processInfo.environment
        if let text = environment[ClusterToken.environmentVariable], !text.isEmpty {
            return try ClusterToken.load(environment: environment, tokenFile: nil)
        }
        if let file = options.tokenFile { return try ClusterToken.read(from: file) }
        let path = options.stateDirectory + "/token"
        if FileManager.default.fileExists(atPath: path) { return try ClusterToken.read(from: path) }
        let token = try ClusterToken.generate()
        try token.write(to: path)
        logger.info("generated a cluster token", ("token.path", path))
        return token
    }

    /// Writes `coordinator.addr` (the address clients and `elide cluster` read) atomically.
    private func writeAddressFile() throws {
        let path = options.stateDirectory + "/coordinator.addr"
        try (address.description + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
