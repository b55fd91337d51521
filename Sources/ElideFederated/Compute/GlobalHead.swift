import ElideModels
import ElideSupport

/// The FedD2S server's head for one cut: maps a cut representation to class logits.
///
/// It has the same layers as the client network above the cut, classifier included (for cut 0: conv2, ReLU,
/// pool, fc1, ReLU, classifier; for cut 1: fc1, ReLU, classifier; for cut 2: the classifier alone), so the server
/// has the capacity of the whole remainder of the network rather than of a single dense layer. Reconstructed
/// choice: the source describes the global head only as mapping partial representations to soft labels.
public struct GlobalHead: Sendable, Equatable {
    public let architecture: ConvNetArchitecture
    public let cut: Int
    /// Flat parameters, layer by layer, each layer's weights then its bias.
    public internal(set) var parameters: [Float]
    /// SGD momentum, one value per parameter, kept between rounds.
    public internal(set) var velocity: [Float]

    /// Builds a freshly initialized head (He-uniform weights, zero biases, zero momentum) from `seed`.
    public init(architecture: ConvNetArchitecture, cut: Int, seed: UInt64) {
        precondition((0..<architecture.cutCount).contains(cut), "cut \(cut) is outside 0..<\(architecture.cutCount)")
        self.architecture = architecture
        self.cut = cut
        let stack = architecture.globalHead(cut: cut)
        var parameters = [Float](repeating: 0, count: stack.parameterCount)
        var generator = SeededGenerator(seed: seed)
        parameters.withUnsafeMutableBufferPointer { stack.initialize($0, using: &generator) }
        self.parameters = parameters
        self.velocity = [Float](repeating: 0, count: stack.parameterCount)
    }

    /// Values per sample that the head reads.
    public var inputWidth: Int { architecture.representationWidth(cut: cut) }

    private static let formatTag = "elide.global-head.v1"

    /// Encodes parameters and momentum in `BinaryWriter` form.
    public func serialized() -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(Self.formatTag)
        writer.write(architecture)
        writer.write(cut)
        writer.write(parameters)
        writer.write(velocity)
        return writer.bytes
    }

    /// Decodes what `serialized()` wrote, and checks the cut and the parameter counts against the architecture.
    public init(serialized bytes: [UInt8]) throws {
        var reader = BinaryReader(bytes)
        try reader.expectTag(Self.formatTag)
        architecture = try reader.architecture()
        cut = try reader.int("cut")
        guard (0..<architecture.cutCount).contains(cut) else {
            throw ComputeError.invalidSerializedModel("cut \(cut) is outside 0..<\(architecture.cutCount)")
        }
        parameters = try reader.floats("parameters")
        velocity = try reader.floats("velocity")
        try reader.finish("global head")
        let expected = architecture.globalHead(cut: cut).parameterCount
        guard parameters.count == expected, velocity.count == expected else {
            throw ComputeError.invalidSerializedModel(
                "the head for cut \(cut) needs \(expected) parameters, but the data contains \(parameters.count) "
                    + "parameters and \(velocity.count) momentum values")
        }
    }
}
