/// The federated algorithms a run can use.
public enum FederatedAlgorithm: String, Codable, Sendable, CaseIterable {
    /// Personalized data-free knowledge distillation with deep-to-shallow layer dropping (reconstructed).
    case fedd2s
    /// Sample-weighted averaging of the clients' shared parameters.
    case fedavg
    /// FedAvg with the proximal term mu/2 ||w - w_global||^2 in local training.
    case fedprox
    /// Each client trains on its own data and never communicates.
    case local

    /// True when each client keeps its own model between rounds, so clients that do not take part in a round
    /// keep their last accuracy.
    public var isPersonalized: Bool { self == .fedd2s || self == .local }
}

/// The FedD2S choices that its public description leaves open. Each one is a named parameter because the
/// protocol here is a reconstruction from the abstract, not the authors' algorithm.
public struct FedD2SSettings: Codable, Sendable, Equatable {
    /// Cuts that take part in the federation, deep to shallow (2 = after fc1, 1 = after conv2, 0 = after conv1).
    /// Default [2, 1].
    public var droppingSet: [Int]
    /// Layer-dropping rate rho: the cut of round r (0-based) is `droppingSet[min(|D| - 1, floor(r * rho))]`,
    /// so a deeper layer leaves the federation every 1 / rho rounds. 0 keeps the deepest cut. Default 0.05.
    public var layerDroppingRate: Double
    /// Training samples each participating client uploads per round (fewer when it has fewer). Default 100.
    public var uploadSamples: Int

    /// Creates the settings. The server's epochs, the temperature and lambda are `TrainingSettings` fields,
    /// shared with the clients.
    public init(droppingSet: [Int] = [2, 1], layerDroppingRate: Double = 0.05, uploadSamples: Int = 100) {
        self.droppingSet = droppingSet
        self.layerDroppingRate = layerDroppingRate
        self.uploadSamples = uploadSamples
    }

    /// Returns the cut in the federation during round `round` (0-based).
    public func cut(round: Int) -> Int {
        let step = Int((Double(round) * layerDroppingRate).rounded(.down))
        return droppingSet[min(droppingSet.count - 1, max(0, step))]
    }

    /// Throws when a setting is out of range; `cutCount` is the number of cuts the model offers.
    public func validate(cutCount: Int) throws {
        guard !droppingSet.isEmpty, droppingSet.allSatisfy({ (0..<cutCount).contains($0) }) else {
            throw FederatedError.invalidSetting(
                name: "dropping-set", value: droppingSet.map(String.init).joined(separator: ","),
                expected: "one or more cuts in 0..<\(cutCount), deep to shallow, for example 2,1")
        }
        guard zip(droppingSet, droppingSet.dropFirst()).allSatisfy({ $0 > $1 }) else {
            throw FederatedError.invalidSetting(
                name: "dropping-set", value: droppingSet.map(String.init).joined(separator: ","),
                expected: "cuts ordered deep to shallow without repeats, for example 2,1")
        }
        guard layerDroppingRate >= 0, layerDroppingRate.isFinite else {
            throw FederatedError.invalidSetting(
                name: "dropping-rate", value: "\(layerDroppingRate)", expected: "a number >= 0")
        }
        guard uploadSamples >= 1 else {
            throw FederatedError.invalidSetting(name: "upload-samples", value: "\(uploadSamples)", expected: ">= 1")
        }
    }
}

/// The settings of the round logic: the algorithm, the clients and the rounds. Training hyperparameters travel
/// separately, with the tasks.
public struct FederatedRoundSettings: Codable, Sendable, Equatable {
    public var algorithm: FederatedAlgorithm
    public var clients: Int
    /// Fraction of clients that train in each round, in (0, 1].
    public var participation: Double
    public var rounds: Int
    public var fedD2S: FedD2SSettings
    /// Clients evaluated by one FedAvg or FedProx evaluation task. Default 5.
    public var evaluationClientsPerTask: Int
    public var seeds: FederatedSeeds

    public init(
        algorithm: FederatedAlgorithm, clients: Int, participation: Double, rounds: Int,
        fedD2S: FedD2SSettings = FedD2SSettings(), evaluationClientsPerTask: Int = 5, seeds: FederatedSeeds
    ) {
        self.algorithm = algorithm
        self.clients = clients
        self.participation = participation
        self.rounds = rounds
        self.fedD2S = fedD2S
        self.evaluationClientsPerTask = evaluationClientsPerTask
        self.seeds = seeds
    }

    public func validate(cutCount: Int) throws {
        guard clients >= 1 else {
            throw FederatedError.invalidSetting(name: "clients", value: "\(clients)", expected: ">= 1")
        }
        guard participation > 0, participation <= 1 else {
            throw FederatedError.invalidSetting(
                name: "participation", value: "\(participation)", expected: "a fraction in (0, 1]")
        }
        guard rounds >= 1 else {
            throw FederatedError.invalidSetting(name: "rounds", value: "\(rounds)", expected: ">= 1")
        }
        guard evaluationClientsPerTask >= 1 else {
            throw FederatedError.invalidSetting(
                name: "evaluation-clients-per-task", value: "\(evaluationClientsPerTask)", expected: ">= 1")
        }
        if algorithm == .fedd2s { try fedD2S.validate(cutCount: cutCount) }
    }

    /// Returns the clients that train in `round` (0-based).
    public func participants(round: Int) -> [Int] {
        ClientSampler.sample(
            clients: clients, participation: participation, round: round,
            seed: seeds.seed(.clientSampling))
    }
}
