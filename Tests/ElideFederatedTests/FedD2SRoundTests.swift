import Testing

@testable import ElideFederated

/// The FedD2S round logic driven with made-up client and server results.
struct FedD2SRoundTests {
    static let classes = 3

    static func settings(rounds: Int, rate: Double = 0.5, participation: Double = 0.5) -> FederatedRoundSettings {
        FederatedRoundSettings(
            algorithm: .fedd2s, clients: 4, participation: participation, rounds: rounds,
            fedD2S: FedD2SSettings(droppingSet: [2, 1, 0], layerDroppingRate: rate, uploadSamples: 3),
            seeds: FederatedSeeds(jobSeed: 77))
    }

    /// Makes an upload 2 values wide whose representation values are the client's number.
    static func upload(_ work: FederatedWork) -> FederatedResult {
        guard case .client(let client, _, _, .upload(_, let sample)) = work else { return .accuracies([]) }
        return .upload(
            ClientUpload(
                client: client, representations: [Float](repeating: Float(client), count: 2 * sample.count), width: 2,
                logits: [Float](repeating: 0, count: classes * sample.count),
                labels: [Int](repeating: 1, count: sample.count)))
    }

    @Test func cutFollowsDroppingRate() {
        let schedule = FedD2SSettings(droppingSet: [2, 1], layerDroppingRate: 0.25)
        #expect((0..<10).map { schedule.cut(round: $0) } == [2, 2, 2, 2, 1, 1, 1, 1, 1, 1])
        let kept = FedD2SSettings(droppingSet: [2, 1], layerDroppingRate: 0)
        #expect((0..<50).allSatisfy { kept.cut(round: $0) == 2 })
    }

    @Test func settingsRejectShallowToDeepOrder() {
        #expect(throws: FederatedError.self) { try FedD2SSettings(droppingSet: [1, 2]).validate(cutCount: 3) }
        #expect(throws: FederatedError.self) { try FedD2SSettings(droppingSet: [3]).validate(cutCount: 3) }
        #expect(throws: FederatedError.self) { try FedD2SSettings(droppingSet: []).validate(cutCount: 3) }
        #expect(throws: FederatedError.self) {
            try FedD2SSettings(layerDroppingRate: -1).validate(cutCount: 3)
        }
    }

    @Test func roundRunsUploadServerDistill() throws {
        let settings = Self.settings(rounds: 2)
        let initial = (0..<4).map { ClientAccuracy(correct: $0, count: 10) }
        var run = try FederatedRun(settings: settings, trainCounts: [5, 2, 8, 8], initialAccuracies: initial)
        let participants = settings.participants(round: 0)
        #expect(participants.count == 2)

        // 1. Clients train and upload at the deepest cut.
        let uploads = run.start()
        #expect(uploads.count == 2)
        for (work, client) in zip(uploads, participants) {
            guard case .client(let answered, let history, .train(0, _), .upload(let cut, let sample)) = work else {
                Issue.record("expected a training and upload work, got \(work)")
                continue
            }
            #expect(answered == client)
            #expect(history.isEmpty)
            #expect(cut == 2)
            #expect(sample.count == min(3, [5, 2, 8, 8][client]))
        }

        // 2. The server trains a new head on both uploads, in participant order.
        let server = try run.receive(uploads.map(Self.upload))
        guard case .server(0, 2, nil, _, _, let received) = try #require(server.first) else {
            Issue.record("expected a server work, got \(server)")
            return
        }
        #expect(received.map(\.client) == participants)
        let sampleCount = received.reduce(0) { $0 + $1.labels.count }
        let logits = (0..<sampleCount * Self.classes).map { Float($0) }

        // 3. Each client distils its own slice of the server logits.
        let distill = try run.receive([.server(head: [9, 9], logits: logits)])
        #expect(run.heads[2] == [9, 9])
        var offset = 0
        for (work, upload) in zip(distill, received) {
            guard case .client(let client, let history, .distill(0, 2, _, let sample, let teacher), .evaluate) = work
            else {
                Issue.record("expected a distillation work, got \(work)")
                continue
            }
            let count = upload.labels.count
            #expect(client == upload.client)
            #expect(sample.count == count)
            #expect(teacher == Array(logits[offset * Self.classes..<(offset + count) * Self.classes]))
            #expect(history.count == 1)
            offset += count
        }

        let next = try run.receive(
            distill.enumerated().map { position, work in
                guard case .client(let client, _, _, _) = work else { return .accuracies([]) }
                return .accuracy(client: client, ClientAccuracy(correct: 9 + position, count: 10))
            })
        let metrics = try #require(run.metrics.last)
        #expect(metrics.round == 1)
        #expect(metrics.cut == 2)
        #expect(metrics.participants == participants)
        // Participants report 0.9 and 1.0; the others keep their initial accuracy.
        var expected = initial.map(\.accuracy)
        expected[participants[0]] = 0.9
        expected[participants[1]] = 1.0
        #expect(abs(metrics.meanAccuracy - expected.reduce(0, +) / 4) < 1e-12)
        // Uploads: 2 floats + 3 logits + 1 label per sample, 4 bytes each; downloads: 3 logits per sample.
        #expect(metrics.bytesUploaded == 4 * 6 * sampleCount)
        #expect(metrics.bytesDownloaded == 4 * 3 * sampleCount)
        for client in participants { #expect(run.histories[client].count == 2) }

        // Round 2 (rate 0.5: floor(1 * 0.5) = 0) still uses cut 2 and reuses the trained head.
        let second = next
        #expect(second.count == settings.participants(round: 1).count)
        let secondServer = try run.receive(second.map(Self.upload))
        guard case .server(1, 2, let head, _, _, _) = try #require(secondServer.first) else {
            Issue.record("expected the second server work, got \(secondServer)")
            return
        }
        #expect(head == [9, 9])
    }

    @Test func resultForWrongClientIsRejected() throws {
        let settings = Self.settings(rounds: 1)
        var run = try FederatedRun(
            settings: settings, trainCounts: [5, 5, 5, 5],
            initialAccuracies: [ClientAccuracy](repeating: .init(correct: 0, count: 1), count: 4))
        let works = run.start()
        var results = works.map(Self.upload)
        results.swapAt(0, 1)
        #expect(throws: FederatedError.self) { try run.receive(results) }
        #expect(throws: FederatedError.self) { try run.receive(Array(results.prefix(1))) }
    }

    @Test func localOnlyKeepsAbsentClientsAccuracy() throws {
        let settings = FederatedRoundSettings(
            algorithm: .local, clients: 5, participation: 0.4, rounds: 3, seeds: FederatedSeeds(jobSeed: 1))
        let initial = (0..<5).map { ClientAccuracy(correct: $0, count: 5) }
        var run = try FederatedRun(settings: settings, trainCounts: [4, 4, 4, 4, 4], initialAccuracies: initial)
        var works = run.start()
        var trained: [Int: Int] = [:]
        while !works.isEmpty {
            var results: [FederatedResult] = []
            for work in works {
                guard case .client(let client, let history, .train, .evaluate) = work else {
                    Issue.record("expected a local training work, got \(work)")
                    return
                }
                #expect(history.count == trained[client, default: 0])
                trained[client, default: 0] += 1
                results.append(.accuracy(client: client, ClientAccuracy(correct: 5, count: 5)))
            }
            works = try run.receive(results)
        }
        #expect(run.isFinished)
        #expect(run.metrics.count == 4)
        for client in 0..<5 {
            let expected = trained[client] == nil ? initial[client] : ClientAccuracy(correct: 5, count: 5)
            #expect(run.accuracies[client] == expected)
        }
        #expect(run.metrics.allSatisfy { $0.bytesCommunicated == 0 })
    }
}
