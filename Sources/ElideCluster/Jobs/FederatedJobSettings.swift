import ElideFederated
import ElideFormats
import Foundation

/// A `federated` job's options, parsed and checked.
struct FederatedJobSettings: Sendable, Equatable {
    var dataset: StandardImageDataset
    var data: ClientDataPlan
    var rounds: FederatedRoundSettings
    var environment: FederatedEnvironment

    init(spec: JobSpec) throws {
        let options = JobOptions(spec, options: FederatedJob.options)
        let text = { (name: String) in
            spec.options[name] ?? FederatedJob.options.first { $0.name == name }?.defaultValue ?? ""
        }

        guard let algorithm = FederatedAlgorithm(rawValue: text("algorithm")) else {
            throw JobDriverError(
                "invalid value '\(text("algorithm"))' for --algorithm: expected one of "
                    + FederatedAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let dataset = StandardImageDataset(rawValue: text("dataset")) else {
            throw JobDriverError(
                "invalid value '\(text("dataset"))' for --dataset: expected one of "
                    + StandardImageDataset.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let clients = try options.int("clients", in: 1...10_000)
        let scheme: PartitionScheme
        switch text("partition") {
        case "dirichlet": scheme = .dirichlet(alpha: try options.double("alpha", in: 1e-6...1e6))
        case "shards": scheme = .shards(perClient: try options.int("shards-per-client", in: 1...10_000))
        default:
            throw JobDriverError("invalid value '\(text("partition"))' for --partition: expected dirichlet or shards")
        }
        let samplesPerClient: Int? =
            text("samples-per-client") == "all" ? nil : try options.int("samples-per-client", in: 4...1_000_000)
        let seeds = FederatedSeeds(jobSeed: spec.seed)
        data = ClientDataPlan(
            clients: clients, scheme: scheme, samplesPerClient: samplesPerClient,
            testFraction: try options.double("test-fraction", in: 0.001...0.999), seeds: seeds)
        self.dataset = dataset

        let droppingText = text("dropping-set")
        let droppingSet = droppingText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard droppingSet.count == droppingText.split(separator: ",").count else {
            throw JobDriverError("invalid value '\(droppingText)' for --dropping-set: expected cuts such as 2,1")
        }
        let fedD2S = FedD2SSettings(
            droppingSet: droppingSet, layerDroppingRate: try options.double("dropping-rate", in: 0...1_000),
            uploadSamples: try options.int("upload-samples", in: 1...1_000_000))
        rounds = FederatedRoundSettings(
            algorithm: algorithm, clients: clients, participation: try options.double("participation", in: 0.0001...1),
            rounds: try options.int("rounds", in: 1...100_000), fedD2S: fedD2S,
            evaluationClientsPerTask: try options.int("eval-clients-per-task", in: 1...10_000), seeds: seeds)

        var architecture = ConvNetArchitecture.mnist()
        architecture.conv1 = try options.int("conv1", in: 1...1024)
        architecture.conv2 = try options.int("conv2", in: 1...1024)
        architecture.hidden = try options.int("hidden", in: 1...65_536)
        let training = TrainingSettings(
            learningRate: Float(try options.double("lr", in: 1e-9...100)),
            batchSize: try options.int("batch-size", in: 1...65_536),
            localEpochs: try options.int("local-epochs", in: 1...1_000),
            proxMu: algorithm == .fedprox ? Float(try options.double("mu", in: 0...1e6)) : 0,
            temperature: Float(try options.double("temperature", in: 0.01...1_000)),
            distillationWeight: Float(try options.double("lambda", in: 0...1e6)),
            distillationEpochs: try options.int("distill-epochs", in: 1...1_000),
            serverEpochs: try options.int("server-epochs", in: 1...1_000),
            threads: try options.int("threads", in: 1...256))
        environment = FederatedEnvironment(
            algorithm: algorithm, architecture: architecture, training: training,
            modelSeed: seeds.seed(.modelInitialization))

        do {
            try architecture.validate()
            try data.validate()
            try rounds.validate(cutCount: architecture.cutCount)
        } catch {
            throw JobDriverError("\(error)")
        }
        try checkServerPayload()
    }

    /// Largest FedD2S server payload accepted: 48 MiB, below the wire's default 64 MiB frame limit with room
    /// for the global head.
    static let maxServerUploadBytes = 48 << 20

    /// Rejects FedD2S settings whose server task would carry more uploads than one frame allows.
    private func checkServerPayload() throws {
        guard environment.algorithm == .fedd2s else { return }
        let architecture = environment.architecture
        let width = rounds.fedD2S.droppingSet.map { architecture.representationWidth(cut: $0) }.max() ?? 0
        let participants = ClientSampler.participantCount(clients: rounds.clients, participation: rounds.participation)
        let bytes = participants * rounds.fedD2S.uploadSamples * 4 * (width + architecture.classes + 1)
        guard bytes <= Self.maxServerUploadBytes else {
            throw JobDriverError(
                "FedD2S uploads of \(participants) clients x \(rounds.fedD2S.uploadSamples) samples x \(width) values "
                    + "need \(bytes >> 20) MiB in one server task, more than \(Self.maxServerUploadBytes >> 20) MiB; "
                    + "lower --upload-samples or --participation, or drop shallow cuts from --dropping-set")
        }
    }

    /// Returns every option's value, defaults included, as the report records them.
    static func describe(_ spec: JobSpec) -> [String: JSONValue] {
        var values: [String: JSONValue] = ["seed": .string(String(spec.seed))]
        for option in FederatedJob.options {
            values[option.name] = .string(spec.options[option.name] ?? option.defaultValue ?? "")
        }
        return values
    }
}
