import ElideFormats

/// The compute settings every task of a run shares: the network, the optimizer and loss settings, the
/// algorithm and the seed of the initial model.
public struct FederatedEnvironment: Codable, Sendable, Equatable {
    public var algorithm: FederatedAlgorithm
    public var architecture: ConvNetArchitecture
    public var training: TrainingSettings
    /// Seed of the initial model, the same for every client and for the FedAvg global model.
    public var modelSeed: UInt64

    public init(
        algorithm: FederatedAlgorithm, architecture: ConvNetArchitecture, training: TrainingSettings, modelSeed: UInt64
    ) {
        self.algorithm = algorithm
        self.architecture = architecture
        self.training = training
        self.modelSeed = modelSeed
    }

    /// Returns the model that every client and the FedAvg global model start from.
    public func initialModel() -> ClientModel { ClientModel(architecture: architecture, seed: modelSeed) }

    /// Throws unless `data` has the image shape and class count of the network.
    public func checkShape(of data: LabeledImageSet, name: String) throws {
        let expected = (architecture.channels, architecture.height, architecture.width, architecture.classes)
        guard (data.channels, data.height, data.width, data.classCount) == expected else {
            throw FederatedError.invalidSetting(
                name: name,
                value: "\(data.channels)x\(data.height)x\(data.width) images with \(data.classCount) classes",
                expected: "\(expected.0)x\(expected.1)x\(expected.2) images with \(expected.3) classes, as the "
                    + "network's architecture says")
        }
    }
}
