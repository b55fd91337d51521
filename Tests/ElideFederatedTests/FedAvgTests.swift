import Testing

@testable import ElideFederated

struct FedAvgTests {
    @Test func aggregateIsSampleWeightedMean() throws {
        let updates = [
            FedAvgAggregator.Update(client: 0, parameters: [1, 10], sampleCount: 1),
            FedAvgAggregator.Update(client: 3, parameters: [4, -2], sampleCount: 3),
        ]
        // (1 * [1, 10] + 3 * [4, -2]) / 4 = [13/4, 4/4].
        #expect(try FedAvgAggregator.aggregate(updates) == [3.25, 1])
    }

    @Test func aggregateIgnoresArrivalOrder() throws {
        let updates = (0..<7).map { client in
            FedAvgAggregator.Update(
                client: client, parameters: (0..<64).map { Float(client * 64 + $0).squareRoot() * 0.1 },
                sampleCount: 10 + client * 3)
        }
        let forward = try FedAvgAggregator.aggregate(updates)
        let reversed = try FedAvgAggregator.aggregate(updates.reversed())
        let shuffled = try FedAvgAggregator.aggregate([3, 0, 6, 1, 5, 2, 4].map { updates[$0] })
        #expect(forward == reversed)
        #expect(forward == shuffled)
    }

    @Test func aggregateRejectsMismatchedUpdates() {
        #expect(throws: FederatedError.self) { try FedAvgAggregator.aggregate([]) }
        #expect(throws: FederatedError.self) {
            try FedAvgAggregator.aggregate([
                FedAvgAggregator.Update(client: 0, parameters: [1, 2], sampleCount: 1),
                FedAvgAggregator.Update(client: 1, parameters: [1], sampleCount: 1),
            ])
        }
        #expect(throws: FederatedError.self) {
            try FedAvgAggregator.aggregate([FedAvgAggregator.Update(client: 0, parameters: [1], sampleCount: 0)])
        }
    }

    @Test func fedAvgRoundEvaluatesEveryClientWithNewModel() throws {
        let settings = FederatedRoundSettings(
            algorithm: .fedavg, clients: 4, participation: 0.5, rounds: 1, evaluationClientsPerTask: 3,
            seeds: FederatedSeeds(jobSeed: 2))
        let initial = [ClientAccuracy](repeating: ClientAccuracy(correct: 1, count: 10), count: 4)
        var run = try FederatedRun(
            settings: settings, trainCounts: [40, 10, 30, 20], initialAccuracies: initial, initialParameters: [0, 0])
        let training = run.start()
        #expect(training.count == 2)
        let results: [FederatedResult] = training.map { work in
            guard case .trainGlobal(let client, _, let parameters, _) = work else { return .accuracies([]) }
            #expect(parameters == [0, 0])
            return .trained(
                .init(client: client, parameters: [Float(client), 1], sampleCount: [40, 10, 30, 20][client]))
        }
        let evaluation = try run.receive(results)
        let participants = settings.participants(round: 0)
        let weights = participants.map { Double([40, 10, 30, 20][$0]) }
        let expected = Float(zip(participants, weights).reduce(0.0) { $0 + Double($1.0) * $1.1 } / weights.reduce(0, +))
        #expect(run.globalParameters == [expected, 1])
        // Four clients in tasks of three: clients 0-2, then 3.
        #expect(evaluation.count == 2)
        guard case .evaluateGlobal(let parameters, let clients) = evaluation[0] else {
            Issue.record("expected an evaluation work, got \(evaluation[0])")
            return
        }
        #expect(parameters == [expected, 1])
        #expect(clients == [0, 1, 2])
        let done = try run.receive([
            .accuracies([
                (0, .init(correct: 5, count: 10)), (1, .init(correct: 6, count: 10)), (2, .init(correct: 7, count: 10)),
            ]),
            .accuracies([(3, .init(correct: 8, count: 10))]),
        ])
        #expect(done.isEmpty)
        #expect(run.isFinished)
        let last = try #require(run.metrics.last)
        #expect(abs(last.meanAccuracy - 0.65) < 1e-12)
        // Two participants each download 2 floats and upload 2 floats plus an 8-byte sample count.
        #expect(last.bytesDownloaded == 16)
        #expect(last.bytesUploaded == 32)
    }
}
