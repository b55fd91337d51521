/// The round logic of a federated run as a pure state machine: it hands out batches of `FederatedWork`,
/// takes the batch's results in work order and records `RoundMetrics` after each round.
///
/// A round, by algorithm:
/// - `fedd2s`: sampled clients train locally and upload cut representations and head logits for an upload
///   sample. One server work trains the global head of the round's cut on all uploads and returns its logits.
///   Each sampled client distils them back and is evaluated.
/// - `local`: sampled clients train on their own data and are evaluated.
/// - `fedavg`, `fedprox`: sampled clients train copies of the global parameters. Their sample-weighted mean
///   becomes the new global model, which every client is then evaluated with.
///
/// Personalized clients (fedd2s, local) that do not take part in a round keep their last accuracy. The run
/// reads no clock and draws no unseeded numbers, so the same results give the same works and metrics.
public struct FederatedRun: Sendable {
    enum Phase: Sendable {
        case upload(round: Int, participants: [Int], cut: Int)
        case server(round: Int, participants: [Int], cut: Int, uploads: [ClientUpload])
        case distill(round: Int, participants: [Int], cut: Int, bytesUploaded: Int, bytesDownloaded: Int)
        case localTraining(round: Int, participants: [Int])
        case globalTraining(round: Int, participants: [Int])
        case globalEvaluation(round: Int, participants: [Int], bytesUploaded: Int, bytesDownloaded: Int)
        case finished
    }

    public let settings: FederatedRoundSettings
    /// Training samples per client.
    public let trainCounts: [Int]
    /// Each client's latest test result.
    public private(set) var accuracies: [ClientAccuracy]
    /// Round 0 (before training) and then one entry per finished round.
    public private(set) var metrics: [RoundMetrics]
    /// FedAvg and FedProx: the current global parameters.
    public private(set) var globalParameters: [Float]?
    /// FedD2S: the global head of each cut that has taken part so far.
    public private(set) var heads: [Int: [UInt8]] = [:]
    /// Personalized algorithms: each client's steps so far.
    public private(set) var histories: [[ClientStep]]
    private var phase: Phase
    private var outstanding: [FederatedWork] = []

    /// - Parameters:
    ///   - initialAccuracies: every client's test result before training, which is round 0 of the metrics.
    ///   - initialParameters: the global model's shared parameters; required for fedavg and fedprox.
    public init(
        settings: FederatedRoundSettings, trainCounts: [Int], initialAccuracies: [ClientAccuracy],
        initialParameters: [Float]? = nil
    ) throws {
        guard trainCounts.count == settings.clients, initialAccuracies.count == settings.clients else {
            throw FederatedError.unexpectedResult(
                "\(settings.clients) clients but \(trainCounts.count) training sets and \(initialAccuracies.count) "
                    + "initial accuracies")
        }
        if !settings.algorithm.isPersonalized, initialParameters == nil {
            throw FederatedError.unexpectedResult("\(settings.algorithm.rawValue) needs initial global parameters")
        }
        self.settings = settings
        self.trainCounts = trainCounts
        self.accuracies = initialAccuracies
        self.globalParameters = settings.algorithm.isPersonalized ? nil : initialParameters
        self.histories = [[ClientStep]](repeating: [], count: settings.clients)
        self.metrics = [
            RoundMetrics(
                round: 0, accuracies: initialAccuracies, bytesUploaded: 0, bytesDownloaded: 0, participants: [])
        ]
        self.phase = .finished
    }

    public var isFinished: Bool {
        if case .finished = phase { return metrics.count > settings.rounds }
        return false
    }

    /// Rounds finished so far.
    public var completedRounds: Int { metrics.count - 1 }

    /// The works of the batch in progress.
    public var currentWorks: [FederatedWork] { outstanding }

    /// Returns the first batch of works.
    public mutating func start() -> [FederatedWork] {
        beginRound(0)
    }

    /// Takes the results of the current batch, in the order of its works, and returns the next batch. An empty
    /// batch means that the run is finished.
    public mutating func receive(_ results: [FederatedResult]) throws -> [FederatedWork] {
        guard results.count == outstanding.count else {
            throw FederatedError.unexpectedResult(
                "the batch has \(outstanding.count) works but \(results.count) results arrived")
        }
        switch phase {
        case .upload(let round, let participants, let cut):
            let uploads = try zip(outstanding, results).map { try Self.upload(for: $0, from: $1) }
            return startServer(round: round, participants: participants, cut: cut, uploads: uploads)
        case .server(let round, let participants, let cut, let uploads):
            return try startDistillation(round: round, participants: participants, cut: cut, uploads: uploads, results)
        case .distill(let round, let participants, let cut, let uploaded, let downloaded):
            try recordClientAccuracies(results)
            return finishRound(round, participants: participants, uploaded: uploaded, downloaded: downloaded, cut: cut)
        case .localTraining(let round, let participants):
            try recordClientAccuracies(results)
            return finishRound(round, participants: participants, uploaded: 0, downloaded: 0, cut: nil)
        case .globalTraining(let round, let participants):
            return try startGlobalEvaluation(round: round, participants: participants, results)
        case .globalEvaluation(let round, let participants, let uploaded, let downloaded):
            for (work, result) in zip(outstanding, results) {
                guard case .evaluateGlobal(_, let clients) = work, case .accuracies(let values) = result,
                    values.map(\.client) == clients
                else { throw mismatch(work, result) }
                for value in values { accuracies[value.client] = value.accuracy }
            }
            return finishRound(round, participants: participants, uploaded: uploaded, downloaded: downloaded, cut: nil)
        case .finished:
            throw FederatedError.unexpectedResult("results arrived after the run finished")
        }
    }

    // MARK: - Phases

    private mutating func beginRound(_ round: Int) -> [FederatedWork] {
        guard round < settings.rounds else {
            phase = .finished
            outstanding = []
            return []
        }
        let seeds = settings.seeds
        let participants = settings.participants(round: round)
        switch settings.algorithm {
        case .fedd2s:
            let cut = settings.fedD2S.cut(round: round)
            phase = .upload(round: round, participants: participants, cut: cut)
            outstanding = participants.map { client in
                .client(
                    client: client, history: histories[client],
                    step: .train(round: round, seed: seeds.seed(.localTraining, round: round, client: client)),
                    followUp: .upload(cut: cut, sample: uploadSample(round: round, client: client)))
            }
        case .local:
            phase = .localTraining(round: round, participants: participants)
            outstanding = participants.map { client in
                .client(
                    client: client, history: histories[client],
                    step: .train(round: round, seed: seeds.seed(.localTraining, round: round, client: client)),
                    followUp: .evaluate)
            }
        case .fedavg, .fedprox:
            phase = .globalTraining(round: round, participants: participants)
            // !-safe: the initializer requires parameters for these algorithms.
            let parameters = globalParameters!
            outstanding = participants.map { client in
                .trainGlobal(
                    client: client, round: round, parameters: parameters,
                    seed: seeds.seed(.localTraining, round: round, client: client))
            }
        }
        return outstanding
    }

    private mutating func startServer(
        round: Int, participants: [Int], cut: Int, uploads: [ClientUpload]
    ) -> [FederatedWork] {
        // The local training step is now part of each participant's state.
        for work in outstanding {
            if case .client(let client, _, let step, _) = work { histories[client].append(step) }
        }
        phase = .server(round: round, participants: participants, cut: cut, uploads: uploads)
        outstanding = [
            .server(
                round: round, cut: cut, head: heads[cut],
                headSeed: settings.seeds.seed(.serverHeadInitialization, round: cut),
                trainingSeed: settings.seeds.seed(.serverTraining, round: round), uploads: uploads)
        ]
        return outstanding
    }

    private mutating func startDistillation(
        round: Int, participants: [Int], cut: Int, uploads: [ClientUpload], _ results: [FederatedResult]
    ) throws -> [FederatedWork] {
        guard case .server(let head, let logits) = results[0] else { throw mismatch(outstanding[0], results[0]) }
        let sampleCount = uploads.reduce(0) { $0 + $1.labels.count }
        guard sampleCount > 0, logits.count % sampleCount == 0 else {
            throw FederatedError.unexpectedResult(
                "the server returned \(logits.count) logits for \(sampleCount) uploaded samples")
        }
        let classes = logits.count / sampleCount
        heads[cut] = head

        var works: [FederatedWork] = []
        var offset = 0
        for upload in uploads {
            let count = upload.labels.count
            let teacher = Array(logits[offset * classes..<(offset + count) * classes])
            offset += count
            let step = ClientStep.distill(
                round: round, cut: cut, seed: settings.seeds.seed(.distillation, round: round, client: upload.client),
                upload: uploadSample(round: round, client: upload.client), teacherLogits: teacher)
            works.append(
                .client(client: upload.client, history: histories[upload.client], step: step, followUp: .evaluate))
        }
        let uploaded = uploads.reduce(0) { $0 + $1.byteCount }
        phase = .distill(
            round: round, participants: participants, cut: cut, bytesUploaded: uploaded,
            bytesDownloaded: 4 * logits.count)
        outstanding = works
        return works
    }

    private mutating func startGlobalEvaluation(
        round: Int, participants: [Int], _ results: [FederatedResult]
    ) throws -> [FederatedWork] {
        var updates: [FedAvgAggregator.Update] = []
        for (work, result) in zip(outstanding, results) {
            guard case .trainGlobal(let client, _, _, _) = work, case .trained(let update) = result,
                update.client == client
            else { throw mismatch(work, result) }
            updates.append(update)
        }
        let parameters = try FedAvgAggregator.aggregate(updates)
        // Each participant downloads the global parameters and uploads its own plus an 8-byte sample count.
        let modelBytes = 4 * parameters.count
        globalParameters = parameters

        let size = settings.evaluationClientsPerTask
        phase = .globalEvaluation(
            round: round, participants: participants, bytesUploaded: participants.count * (modelBytes + 8),
            bytesDownloaded: participants.count * modelBytes)
        outstanding = stride(from: 0, to: settings.clients, by: size).map { first in
            .evaluateGlobal(parameters: parameters, clients: Array(first..<min(first + size, settings.clients)))
        }
        return outstanding
    }

    private mutating func recordClientAccuracies(_ results: [FederatedResult]) throws {
        for (work, result) in zip(outstanding, results) {
            guard case .client(let client, _, let step, .evaluate) = work,
                case .accuracy(let answered, let accuracy) = result, answered == client
            else { throw mismatch(work, result) }
            histories[client].append(step)
            accuracies[client] = accuracy
        }
    }

    private mutating func finishRound(
        _ round: Int, participants: [Int], uploaded: Int, downloaded: Int, cut: Int?
    ) -> [FederatedWork] {
        metrics.append(
            RoundMetrics(
                round: round + 1, accuracies: accuracies, bytesUploaded: uploaded, bytesDownloaded: downloaded,
                participants: participants, cut: cut))
        return beginRound(round + 1)
    }

    // MARK: - Helpers

    private func uploadSample(round: Int, client: Int) -> UploadSample {
        UploadSample(
            seed: settings.seeds.seed(.uploadSample, round: round, client: client),
            count: min(settings.fedD2S.uploadSamples, trainCounts[client]))
    }

    private static func upload(for work: FederatedWork, from result: FederatedResult) throws -> ClientUpload {
        guard case .client(let client, _, _, .upload(_, let sample)) = work, case .upload(let upload) = result,
            upload.client == client, upload.labels.count == sample.count,
            upload.representations.count == sample.count * upload.width
        else { throw mismatch(work, result) }
        return upload
    }

    private static func mismatch(_ work: FederatedWork, _ result: FederatedResult) -> FederatedError {
        .unexpectedResult("the result \(summary(result)) does not answer the work \(summary(work))")
    }

    private func mismatch(_ work: FederatedWork, _ result: FederatedResult) -> FederatedError {
        Self.mismatch(work, result)
    }

    static func summary(_ work: FederatedWork) -> String {
        switch work {
        case .client(let client, let history, let step, let followUp):
            return "client \(client) step \(history.count + 1) of round \(step.round + 1) (\(followUp))"
        case .server(let round, let cut, _, _, _, let uploads):
            return "server round \(round + 1) cut \(cut) with \(uploads.count) uploads"
        case .trainGlobal(let client, let round, _, _):
            return "global training of client \(client) in round \(round + 1)"
        case .evaluateGlobal(_, let clients):
            return "global evaluation of clients \(clients)"
        }
    }

    static func summary(_ result: FederatedResult) -> String {
        switch result {
        case .upload(let upload): return "upload of client \(upload.client) (\(upload.labels.count) samples)"
        case .accuracy(let client, _): return "accuracy of client \(client)"
        case .server(_, let logits): return "server head with \(logits.count) logits"
        case .trained(let update): return "parameters of client \(update.client)"
        case .accuracies(let values): return "accuracies of clients \(values.map(\.client))"
        }
    }
}
