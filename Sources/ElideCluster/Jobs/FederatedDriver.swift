import ElideFederated
import ElideFormats
import ElideSupport
import ElideWire

/// The coordinator side of `federated`: a partition task, then the batches of works `FederatedRun` hands
/// out, one task per work. A batch's results are passed to the run in work order once all of them arrived, so
/// the report does not depend on the order in which workers finish.
struct FederatedDriver: JobDriver {
    let spec: JobSpec
    let settings: FederatedJobSettings
    /// Digest of the spec, which keys client state on workers.
    let runKey: String
    private(set) var run: FederatedRun?
    private(set) var clientData: [ClientDataDigests] = []
    private(set) var sampleCounts: [(train: Int, test: Int)] = []
    private var nextIndex: UInt64 = 1
    /// Task index to position in the current batch.
    private var batch: [UInt64: Int] = [:]
    private var results: [FederatedResult?] = []
    private(set) var clocks = FederatedClocks()

    static let partitionTask: UInt64 = 0

    init(spec: JobSpec) throws {
        self.spec = spec
        self.settings = try FederatedJobSettings(spec: spec)
        var hash = FNV1a64()
        hash.add(Array(spec.kind.utf8))
        hash.add(spec.seed)
        for key in spec.options.keys.sorted() {
            hash.add(Array("\(key)=\(spec.options[key] ?? "")\n".utf8))
        }
        self.runKey = hash.value.hex16
    }

    mutating func start() throws -> DriverStep {
        let task = FederatedTask(
            runKey: runKey, environment: settings.environment, data: [],
            body: .partition(dataset: settings.dataset, plan: settings.data))
        let request = TaskRequest(
            index: Self.partitionTask, executor: FederatedJob.executorKind, payload: try task.encoded())
        return DriverStep(newTasks: [request], progress: progress)
    }

    mutating func handle(taskIndex: UInt64, output: [UInt8]) throws -> DriverStep {
        let decoded = try FederatedTaskOutput.decode(output, task: taskIndex)
        if taskIndex == Self.partitionTask {
            guard case .partition(let clients) = decoded.body else {
                throw JobDriverError("the partition task returned a work result")
            }
            clocks.partitionSeconds = max(0, decoded.finishedAt - decoded.startedAt)
            return try startRun(clients)
        }
        guard let position = batch.removeValue(forKey: taskIndex), var run else {
            throw JobDriverError("task \(taskIndex) is not part of the current batch")
        }
        guard case .result(let result) = decoded.body else {
            throw JobDriverError("task \(taskIndex) returned client data instead of a work result")
        }
        results[position] = result
        clocks.record(startedAt: decoded.startedAt, finishedAt: decoded.finishedAt)
        clocks.replayedSteps += decoded.replayedSteps
        guard batch.isEmpty else { return DriverStep(progress: progress) }

        let finishedBefore = run.completedRounds
        let works = try run.receive(results.map { $0! })  // !-safe: the batch is empty, so every slot is filled.
        if run.completedRounds > finishedBefore { clocks.closeRound() }
        self.run = run
        if run.isFinished {
            return DriverStep(progress: progress, report: try FederatedReport.make(self))
        }
        return DriverStep(newTasks: try requests(for: works), progress: progress)
    }

    var progress: JobProgress {
        FederatedProgress.progress(self)
    }

    // MARK: - Steps

    private mutating func startRun(_ clients: [FederatedTaskOutput.ClientData]) throws -> DriverStep {
        guard clients.count == settings.rounds.clients else {
            throw JobDriverError(
                "the partition task returned \(clients.count) clients, expected \(settings.rounds.clients)")
        }
        var artifacts: [[UInt8]] = []
        for (client, data) in clients.enumerated() {
            clientData.append(ClientDataDigests(client: client, train: digest(data.train), test: digest(data.test)))
            artifacts += [data.train, data.test]
        }
        sampleCounts = try clients.map {
            (try LabeledImageSet(serialized: $0.train).count, try LabeledImageSet(serialized: $0.test).count)
        }
        let initialParameters =
            settings.environment.algorithm.isPersonalized
            ? nil : settings.environment.initialModel().sharedParameters
        var run = try FederatedRun(
            settings: settings.rounds, trainCounts: sampleCounts.map(\.train),
            initialAccuracies: clients.map(\.initialAccuracy), initialParameters: initialParameters)
        let works = run.start()
        self.run = run
        return DriverStep(newTasks: try requests(for: works), progress: progress, artifacts: artifacts)
    }

    private mutating func requests(for works: [FederatedWork]) throws -> [TaskRequest] {
        batch = [:]
        results = [FederatedResult?](repeating: nil, count: works.count)
        var requests: [TaskRequest] = []
        for (position, work) in works.enumerated() {
            let index = nextIndex
            nextIndex += 1
            batch[index] = position
            let clients = Self.clients(of: work)
            let data = clients.map { clientData[$0] }
            let task = FederatedTask(runKey: runKey, environment: settings.environment, data: data, body: .work(work))
            var artifacts: [ArtifactDigest] = []
            var affinity: String?
            switch work {
            case .client(let client, _, _, _):
                artifacts = [clientData[client].train, clientData[client].test]
                affinity = "client-\(client)"
            case .trainGlobal(let client, _, _, _):
                artifacts = [clientData[client].train]
            case .evaluateGlobal:
                artifacts = data.map(\.test)
            case .server:
                break
            }
            requests.append(
                TaskRequest(
                    index: index, executor: FederatedJob.executorKind, payload: try task.encoded(),
                    artifacts: artifacts,
                    affinity: affinity))
        }
        return requests
    }

    private static func clients(of work: FederatedWork) -> [Int] {
        switch work {
        case .client(let client, _, _, _), .trainGlobal(let client, _, _, _): return [client]
        case .evaluateGlobal(_, let clients): return clients
        case .server: return []
        }
    }

    private func digest(_ bytes: [UInt8]) -> ArtifactDigest {
        ArtifactDigest(hex: SHA256Digest.hex(of: bytes))!  // !-safe: the hasher returns 64 hex digits.
    }
}

/// Wall-clock spans of a federated job's rounds, from the start and finish times in task outputs. The
/// driver reads no clock, so these replay with the journal; they depend on the run, unlike the rest of the
/// report.
struct FederatedClocks: Sendable {
    var partitionSeconds = 0.0
    /// Client steps that workers applied again because they lacked a client's model.
    var replayedSteps = 0
    /// Seconds per finished round: from its first task's start to its last task's finish.
    private(set) var roundSeconds: [Double] = []
    /// Σ task durations per finished round: the compute the round cost over all workers.
    private(set) var roundTaskSeconds: [Double] = []
    private var current: (start: Double, end: Double, taskSeconds: Double)?

    mutating func record(startedAt: Double, finishedAt: Double) {
        let duration = max(0, finishedAt - startedAt)
        if let span = current {
            current = (min(span.start, startedAt), max(span.end, finishedAt), span.taskSeconds + duration)
        } else {
            current = (startedAt, finishedAt, duration)
        }
    }

    mutating func closeRound() {
        roundSeconds.append(max(0, (current?.end ?? 0) - (current?.start ?? 0)))
        roundTaskSeconds.append(current?.taskSeconds ?? 0)
        current = nil
    }
}
