import ElideFormats
import ElideSupport
import Testing

@testable import ElideFederated

/// One FedD2S round on a tiny network, computed twice: through `FederatedRun` and `ClientStepRunner`, and by
/// hand with the compute calls the protocol names. Both must agree bit for bit.
struct FedD2SRoundComputeTests {
    static let architecture = ConvNetArchitecture(
        channels: 1, height: 28, width: 28, classes: 3, conv1: 2, conv2: 4, kernel: 5, hidden: 8)

    static let environment = FederatedEnvironment(
        algorithm: .fedd2s, architecture: architecture, training: TrainingSettings(learningRate: 0.05, batchSize: 8),
        modelSeed: 5)

    /// Images whose class is a bright 8x8 square at one of three places, over seeded noise.
    static func images(count: Int, seed: UInt64) throws -> LabeledImageSet {
        var generator = SeededGenerator(seed: seed)
        var pixels: [UInt8] = []
        var labels: [Int] = []
        for _ in 0..<count {
            let label = Int(generator.next() % 3)
            var image = (0..<784).map { _ in UInt8(generator.next() % 40) }
            for row in 10..<18 {
                for column in (2 + 9 * label)..<(10 + 9 * label) { image[row * 28 + column] = 250 }
            }
            pixels += image
            labels.append(label)
        }
        return try LabeledImageSet(channels: 1, height: 28, width: 28, classCount: 3, pixels: pixels, labels: labels)
    }

    @Test func roundMatchesHandComputation() throws {
        let clients = [
            (try Self.images(count: 24, seed: 1), try Self.images(count: 9, seed: 2)),
            (try Self.images(count: 16, seed: 3), try Self.images(count: 9, seed: 4)),
        ]
        let settings = FederatedRoundSettings(
            algorithm: .fedd2s, clients: 2, participation: 1, rounds: 1,
            fedD2S: FedD2SSettings(droppingSet: [1], layerDroppingRate: 0, uploadSamples: 10),
            seeds: FederatedSeeds(jobSeed: 3))
        let environment = Self.environment
        let initial = clients.map { ClientStepRunner.evaluate(environment.initialModel(), test: $0.1) }
        var run = try FederatedRun(
            settings: settings, trainCounts: clients.map(\.0.count), initialAccuracies: initial)

        // Through the run and the runner, as a worker would.
        var models = clients.map { _ in environment.initialModel() }
        var works = run.start()
        while !works.isEmpty {
            var results: [FederatedResult] = []
            for work in works {
                switch work {
                case .client(let client, _, let step, let followUp):
                    try ClientStepRunner.apply(
                        step, to: &models[client], train: clients[client].0, environment: environment)
                    if case .upload(let cut, let sample) = followUp {
                        results.append(
                            .upload(
                                try ClientStepRunner.upload(
                                    models[client], client: client, train: clients[client].0, cut: cut, sample: sample,
                                    environment: environment)))
                    } else {
                        results.append(
                            .accuracy(
                                client: client, ClientStepRunner.evaluate(models[client], test: clients[client].1)))
                    }
                case .server(_, let cut, let head, let headSeed, let trainingSeed, let uploads):
                    let trained = try ClientStepRunner.trainServer(
                        cut: cut, head: head, headSeed: headSeed, trainingSeed: trainingSeed, uploads: uploads,
                        environment: environment)
                    results.append(.server(head: trained.head, logits: trained.logits))
                default:
                    Issue.record("FedD2S asked for \(work)")
                    return
                }
            }
            works = try run.receive(results)
        }

        // By hand: local training, uploads at cut 1, the server head, distillation, evaluation.
        let seeds = settings.seeds
        let training = environment.training
        var hand = clients.map { _ in environment.initialModel() }
        var representations: [Float] = []
        var clientLogits: [Float] = []
        var labels: [Int] = []
        var uploadSets: [LabeledImageSet] = []
        for client in 0..<2 {
            ClientCompute.trainLocally(
                &hand[client], data: clients[client].0, settings: training, proxAnchor: nil,
                seed: seeds.seed(.localTraining, round: 0, client: client))
            let indices = Partitioner.subsample(
                count: clients[client].0.count, take: 10, seed: seeds.seed(.uploadSample, round: 0, client: client))
            let subset = clients[client].0.subset(indices)
            uploadSets.append(subset)
            let upload = ClientCompute.upload(hand[client], data: subset, cut: 1)
            representations += upload.representations
            clientLogits += upload.logits
            labels += subset.labels
        }
        var head = GlobalHead(
            architecture: Self.architecture, cut: 1, seed: seeds.seed(.serverHeadInitialization, round: 1))
        let width = Self.architecture.representationWidth(cut: 1)
        ServerCompute.trainHead(
            &head, representations: representations, width: width, labels: labels, clientLogits: clientLogits,
            settings: training, seed: seeds.seed(.serverTraining, round: 0))
        let teacher = ServerCompute.logits(head, representations: representations, width: width)
        var handAccuracies: [ClientAccuracy] = []
        for client in 0..<2 {
            let rows = Array(teacher[client * 10 * 3..<(client + 1) * 10 * 3])
            ClientCompute.distill(
                &hand[client], data: uploadSets[client], teacherLogits: rows, cut: 1, settings: training,
                seed: seeds.seed(.distillation, round: 0, client: client))
            let result = ClientCompute.evaluate(hand[client], data: clients[client].1)
            handAccuracies.append(ClientAccuracy(correct: result.correct, count: result.count))
        }

        #expect(run.isFinished)
        #expect(models == hand)
        #expect(run.accuracies == handAccuracies)
        #expect(run.heads[1] == head.serialized())
        let metrics = try #require(run.metrics.last)
        // Each client uploads 10 samples: representations of `width` floats, 3 logits and a label each.
        #expect(metrics.bytesUploaded == 2 * 10 * 4 * (width + 3 + 1))
        #expect(metrics.bytesDownloaded == 2 * 10 * 4 * 3)
    }

    @Test func replayRebuildsClientModel() throws {
        let train = try Self.images(count: 20, seed: 9)
        let environment = Self.environment
        let history: [ClientStep] = [
            .train(round: 0, seed: 11),
            .distill(
                round: 0, cut: 2, seed: 12, upload: UploadSample(seed: 13, count: 6),
                teacherLogits: (0..<18).map { Float($0 % 3) - 1 }),
            .train(round: 2, seed: 14),
        ]
        var incremental = environment.initialModel()
        for step in history {
            try ClientStepRunner.apply(step, to: &incremental, train: train, environment: environment)
        }
        let replayed = try ClientStepRunner.replay(history, train: train, environment: environment)
        #expect(replayed == incremental)
        #expect(replayed != environment.initialModel())
    }

    @Test func distillationWithWrongTeacherSizeIsRejected() throws {
        let train = try Self.images(count: 20, seed: 9)
        var model = Self.environment.initialModel()
        let step = ClientStep.distill(
            round: 0, cut: 2, seed: 1, upload: UploadSample(seed: 2, count: 6), teacherLogits: [1, 2, 3])
        #expect(throws: FederatedError.self) {
            try ClientStepRunner.apply(step, to: &model, train: train, environment: Self.environment)
        }
    }
}
