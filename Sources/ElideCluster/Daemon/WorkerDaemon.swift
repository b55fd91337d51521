import ElideSupport
import ElideWire
import Foundation
import Synchronization

/// Settings of the worker daemon, from flags.
public struct WorkerOptions: Sendable {
    public var coordinator: WireAddress
    /// Tasks run at once. Default: the number of CPUs.
    public var slots: Int
    /// Folder of the content-addressed artifact cache.
    public var cacheDirectory: String
    /// Name shown in `elide status`; default `<host>-<pid>`.
    public var name: String
    /// File holding the cluster token when `ELIDE_CLUSTER_TOKEN` is unset.
    public var tokenFile: String?
    /// Maximum wait for running tasks after SIGTERM before they are handed back. Default 30 s.
    public var drainGrace: Duration = .seconds(30)
    /// First pause before reconnecting; each later pause is `reconnectMultiplier` times longer, up to
    /// `reconnectMaxDelay`. Defaults 300 ms, ×1.5, 3 s.
    public var reconnectInitialDelay: Duration = .milliseconds(300)
    public var reconnectMultiplier = 1.5
    public var reconnectMaxDelay: Duration = .seconds(3)
    public var maxFrameBytes = WireProtocol.defaultMaxFrameBytes

    public init(coordinator: WireAddress, slots: Int, cacheDirectory: String, name: String) {
        self.coordinator = coordinator
        self.slots = slots
        self.cacheDirectory = cacheDirectory
        self.name = name
    }

    /// Returns the pause before reconnect attempt `attempt` (0 for the first).
    public func reconnectDelay(attempt: Int) -> Duration {
        var delay = reconnectInitialDelay.seconds
        for _ in 0..<min(attempt, 64) { delay = min(delay * reconnectMultiplier, reconnectMaxDelay.seconds) }
        return .milliseconds(Int64((delay * 1000).rounded()))
    }
}

/// The worker daemon: keeps one connection to the coordinator (reconnecting with backoff), heartbeats on a
/// thread of its own, and runs assigned tasks on one OS thread per slot.
public final class WorkerDaemon: Sendable {
    /// One connection to the coordinator. Tasks remember the session they came from and send their results
    /// only on it, because a new session means the coordinator has requeued them.
    final class Session: Sendable {
        let connection: FramedConnection
        let workerID: String
        let generation: UInt64
        let heartbeatInterval: Duration

        init(connection: FramedConnection, workerID: String, generation: UInt64, heartbeatInterval: Duration) {
            self.connection = connection
            self.workerID = workerID
            self.generation = generation
            self.heartbeatInterval = heartbeatInterval
        }
    }

    final class RunningTask: Sendable {
        let assignment: TaskAssignment
        let generation: UInt64
        let cancelled = Atomic<Bool>(false)
        /// Set when the worker gave the task back while stopping; its result is then not sent.
        let handedBack = Atomic<Bool>(false)

        init(assignment: TaskAssignment, generation: UInt64) {
            self.assignment = assignment
            self.generation = generation
        }
    }

    /// An artifact being fetched; the reader thread feeds the receiver, slot threads wait for `outcome`.
    final class Fetch: @unchecked Sendable {
        // `receiver` is used only by the session's reader thread; `outcome` only under the daemon's lock.
        let receiver: ArtifactReceiver
        var outcome: Result<Void, any Error>?

        init(receiver: ArtifactReceiver) { self.receiver = receiver }
    }

    struct State: Sendable {
        var session: Session?
        var generation: UInt64 = 0
        var queue: [RunningTask] = []
        var running: [TaskAttempt: RunningTask] = [:]
        var fetches: [ArtifactDigest: Fetch] = [:]
        var tasksDone = 0
        var isStopping = false
        var isFinished = false
    }

    public let options: WorkerOptions
    let registry: JobKindRegistry
    let logger: Logger
    let token: ClusterToken
    let cache: ArtifactStore
    let state = Locked(State())
    private let threads: Locked<[OSThread]> = Locked([])

    public init(options: WorkerOptions, registry: JobKindRegistry, logger: Logger) throws {
        precondition(options.slots >= 1, "slots must be >= 1, got \(options.slots)")
        self.options = options
        self.registry = registry
        self.logger = logger
        self.token = try ClusterToken.load(tokenFile: options.tokenFile)
        self.cache = try ArtifactStore(root: options.cacheDirectory)
    }

    /// Starts the connection thread and the slot threads; returns at once.
    public func start() {
        var started = [OSThread.start(name: "session") { [self] in sessionLoop() }]
        for slot in 0..<options.slots {
            started.append(OSThread.start(name: "slot-\(slot)") { [self] in slotLoop() })
        }
        threads.withLock { $0 = started }
        logger.info(
            "worker starting", ("worker.name", options.name), ("coordinator", options.coordinator.description),
            ("slots", String(options.slots)), ("cache_dir", options.cacheDirectory))
    }

    /// Drains the worker: sends `Drain` to the coordinator, waits up to `drainGrace` for running tasks, hands
    /// back the rest, deregisters and closes the connection.
    public func stop() {
        let session = state.withLock { state -> Session? in
            state.isStopping = true
            return state.session
        }
        state.broadcast()
        logger.info("worker draining", ("grace", "\(options.drainGrace)"))
        if let session {
            try? session.connection.send(.drain(WireMessage.Drain(workerID: session.workerID, reason: "SIGTERM")))
        }

        let deadline = MonotonicInstant.now() + options.drainGrace
        let drained = state.wait(until: { $0.running.isEmpty && $0.queue.isEmpty }, deadline: deadline)
        let leftovers = state.withLock { state -> [RunningTask] in
            let tasks = Array(state.running.values) + state.queue
            state.queue = []
            for task in tasks {
                task.handedBack.store(true, ordering: .releasing)
                task.cancelled.store(true, ordering: .releasing)
            }
            return tasks
        }
        if !drained { logger.warning("handing back unfinished tasks", ("tasks", String(leftovers.count))) }

        let current = state.withLock { $0.session }
        if let current {
            for task in leftovers where task.generation == current.generation {
                let released = WireMessage.TaskResult(
                    jobID: task.assignment.attempt.task.job.description,
                    taskID: Int(task.assignment.attempt.task.index),
                    attempt: Int(task.assignment.attempt.attempt), outcome: .released, workerID: current.workerID)
                try? current.connection.send(.taskResult(released))
            }
            try? current.connection.send(
                .deregister(WireMessage.Deregister(workerID: current.workerID, reason: "worker stopped")))
            current.connection.connection.shutdownWrite()
            // Keep reading until the coordinator closes its side: closing a socket with unread data sends a
            // reset, which can make the coordinator drop the results and the deregistration still queued.
            _ = state.wait(until: { $0.session !== current }, deadline: .now() + .seconds(5))
        }
        state.withLock { $0.isFinished = true }
        state.broadcast()
        current?.connection.close()
        logger.info("worker stopped", ("tasks.done", String(state.withLock { $0.tasksDone })))
    }

    // MARK: - Connection

    private func sessionLoop() {
        var failures = 0
        while !state.withLock({ $0.isStopping }) {
            let connection: FramedConnection
            let welcome: WireMessage.Welcome
            do {
                connection = try FramedConnection.connect(
                    to: options.coordinator, timeout: .seconds(5),
                    settings: FramedConnection.Settings(maxFrameBytes: options.maxFrameBytes))
                welcome = try Handshake.introduce(hello(), on: connection, token: token)
            } catch {
                let delay = options.reconnectDelay(attempt: failures)
                let level: Logger.Level = failures == 0 ? .warning : .debug
                logger.log(
                    level, "cannot reach the coordinator; retrying",
                    metadata: [
                        ("coordinator", options.coordinator.description), ("error", "\(error)"),
                        ("retry_in", "\(Int(delay.seconds * 1000))ms"),
                    ])
                failures += 1
                _ = state.wait(until: { $0.isStopping }, deadline: .now() + delay)
                continue
            }
            failures = 0
            let session = state.withLock { state -> Session in
                state.generation += 1
                let session = Session(
                    connection: connection, workerID: welcome.workerID, generation: state.generation,
                    heartbeatInterval: welcome.heartbeatInterval)
                state.session = session
                return session
            }
            logger.info(
                "registered with the coordinator", ("worker.id", welcome.workerID),
                ("coordinator", options.coordinator.description))
            let heartbeat = OSThread.start(name: "heartbeat") { [self] in heartbeatLoop(session) }
            let reason = receiveLoop(session)
            endSession(session, reason: reason)
            heartbeat.join()
        }
    }

    private func hello() -> WireMessage.Hello {
        WireMessage.Hello(
            role: .worker, workerName: options.name, slots: options.slots, processID: Int(getpid()),
            hostName: ProcessInfo.processInfo.hostName, cacheDirectory: options.cacheDirectory,
            cachedArtifacts: cache.digests().map(\.hex))
    }

    /// Sends heartbeats until the session ends. Slot threads take the shared lock only briefly, never while a
    /// task runs, so long tasks do not delay a beat.
    private func heartbeatLoop(_ session: Session) {
        var sequence: UInt64 = 0
        while true {
            let ended = state.wait(
                until: { $0.session !== session || $0.isFinished }, deadline: .now() + session.heartbeatInterval)
            if ended { return }
            sequence += 1
            let beat = state.withLock { state in
                WireMessage.Heartbeat(
                    workerID: session.workerID, sequence: sequence,
                    runningTasks: state.running.keys.map(\.wireRef), slotsUsed: state.running.count,
                    tasksDone: state.tasksDone)
            }
            do {
                try session.connection.send(.heartbeat(beat))
            } catch {
                return
            }
        }
    }

    /// Handles the coordinator's messages until the connection ends; returns why it ended.
    private func receiveLoop(_ session: Session) -> String {
        while true {
            let message: WireMessage
            do {
                message = try session.connection.receive()
            } catch {
                return "\(error)"
            }
            switch message {
            case .taskAssignment(let wire):
                accept(wire, session: session)
            case .cancel(let cancel):
                cancelJob(cancel.jobID)
            case .artifactChunk(let chunk):
                receiveChunk(chunk)
            case .error(let failure):
                logger.warning(
                    "coordinator reported an error", ("code", failure.code.rawValue), ("error", failure.message))
                failFetches(WorkerError.coordinatorError(failure.message))
            case .shutdown:
                logger.info("shutdown requested by the coordinator")
                SignalWaiter.requestTermination()
            case .drain:
                logger.info("coordinator asked this worker to drain")
            default:
                logger.warning("unexpected message from the coordinator", ("message", message.name))
            }
        }
    }

    private func endSession(_ session: Session, reason: String) {
        let abandoned = state.withLock { state -> Int in
            guard state.session === session else { return 0 }
            state.session = nil
            // The coordinator requeues whatever this session ran, so local copies stop and their results are dropped.
            // NOTE: the work done so far is lost; `Hello.runningTasks` could offer the tasks back on reconnect.
            let tasks = Array(state.running.values) + state.queue
            state.queue = []
            for task in tasks { task.cancelled.store(true, ordering: .releasing) }
            return tasks.count
        }
        state.broadcast()
        failFetches(WorkerError.connectionLost)
        session.connection.close()
        let stopping = state.withLock { $0.isStopping }
        if !stopping {
            logger.warning(
                "lost the connection to the coordinator; reconnecting", ("reason", reason),
                ("tasks.abandoned", String(abandoned)))
        }
    }

    // MARK: - Tasks

    private func accept(_ wire: WireMessage.TaskAssignment, session: Session) {
        guard let assignment = TaskAssignment(wire: wire) else {
            logger.warning(
                "ignoring an invalid task assignment", ("job.id", wire.jobID), ("task.index", String(wire.taskID)))
            return
        }
        let task = RunningTask(assignment: assignment, generation: session.generation)
        let rejected = state.withLock { state -> Bool in
            guard !state.isStopping else { return true }
            state.queue.append(task)
            return false
        }
        if rejected {
            send(result(for: task, outcome: .released), session: session)
            return
        }
        state.broadcast()
    }

    private func cancelJob(_ jobID: String) {
        let count = state.withLock { state -> Int in
            let matching = state.running.values.filter { $0.assignment.attempt.task.job.description == jobID }
            for task in matching { task.cancelled.store(true, ordering: .releasing) }
            let queued = state.queue.count
            state.queue.removeAll { $0.assignment.attempt.task.job.description == jobID }
            return matching.count + queued - state.queue.count
        }
        logger.info("job cancelled by the coordinator", ("job.id", jobID), ("tasks.stopped", String(count)))
    }

    private func slotLoop() {
        while true {
            var next: RunningTask?
            _ = state.wait(until: { !$0.queue.isEmpty || $0.isFinished }, deadline: nil)
            let finished = state.withLock { state -> Bool in
                if state.isFinished { return true }
                guard !state.queue.isEmpty else { return false }
                let task = state.queue.removeFirst()
                state.running[task.assignment.attempt] = task
                next = task
                return false
            }
            if finished { return }
            if let task = next { run(task) }
        }
    }

    private func run(_ task: RunningTask) {
        let assignment = task.assignment
        let started = MonotonicInstant.now()
        var message: WireMessage.TaskResult?
        if let executor = registry.executor(named: assignment.executor) {
            let context = TaskContext(
                task: assignment.attempt, isCancelled: { task.cancelled.load(ordering: .acquiring) },
                artifactPath: { [self] digest in try artifactPath(digest, generation: task.generation) })
            do {
                let output = try executor.execute(payload: assignment.payload, seed: assignment.seed, context: context)
                message = result(for: task, outcome: .ok, payload: output)
            } catch is TaskCancelled {
                message = nil
            } catch {
                message = result(for: task, outcome: .error, error: "\(error)")
            }
        } else {
            let known = registry.kindNames.joined(separator: ", ")
            message = result(
                for: task, outcome: .error,
                error: "this worker has no executor for task kind '\(assignment.executor)' (job kinds: \(known)); "
                    + "run the same Elide build on every node")
        }
        message?.duration = MonotonicInstant.now() - started

        let session = state.withLock { state -> Session? in
            state.running[assignment.attempt] = nil
            if message?.outcome == .ok { state.tasksDone += 1 }
            return state.session?.generation == task.generation ? state.session : nil
        }
        state.broadcast()
        if let message, let session, !task.handedBack.load(ordering: .acquiring),
            !task.cancelled.load(ordering: .acquiring)
        {
            send(message, session: session)
        }
    }

    private func result(
        for task: RunningTask, outcome: WireMessage.TaskOutcome, payload: [UInt8] = [], error: String = ""
    ) -> WireMessage.TaskResult {
        let attempt = task.assignment.attempt
        return WireMessage.TaskResult(
            jobID: attempt.task.job.description, taskID: Int(attempt.task.index), attempt: Int(attempt.attempt),
            outcome: outcome, payload: payload, errorMessage: error)
    }

    private func send(_ result: WireMessage.TaskResult, session: Session) {
        var message = result
        message.workerID = session.workerID
        do {
            try session.connection.send(.taskResult(message))
        } catch {
            logger.debug("result not sent; the coordinator will requeue the task", ("error", "\(error)"))
        }
    }
}

/// Failures inside the worker that end a task.
enum WorkerError: Error, CustomStringConvertible {
    case connectionLost
    case coordinatorError(String)
    case fetchTimedOut(ArtifactDigest)

    var description: String {
        switch self {
        case .connectionLost: return "the connection to the coordinator was lost during an artifact fetch"
        case .coordinatorError(let message): return "the coordinator could not send the artifact: \(message)"
        case .fetchTimedOut(let digest): return "fetching artifact \(digest.hex) timed out"
        }
    }
}
