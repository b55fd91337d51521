import ElideModels
import ElideSupport

/// A client's whole model: the body (conv1, conv2, fc1), its classifier, and one auxiliary head per cut.
///
/// Auxiliary head `c` is one dense layer from the flattened cut-`c` representation to class logits. It never
/// leaves the client: FedD2S uploads its soft labels, not its weights. Parameters are stored flat in
/// `parameters`: first the shared part (body then classifier, layer by layer, each layer's weights then its
/// bias), then the auxiliary heads in cut order. `velocity` is the SGD momentum buffer of the same layout; it
/// persists between rounds, and `setSharedParameters` leaves it unchanged.
public struct ClientModel: Sendable, Equatable {
    public let architecture: ConvNetArchitecture
    /// All parameters: shared part, then auxiliary heads 0, 1, 2.
    public internal(set) var parameters: [Float]
    /// SGD momentum, one value per parameter.
    public internal(set) var velocity: [Float]

    /// Builds a freshly initialized model (He-uniform weights, zero biases, zero momentum) from `seed`.
    public init(architecture: ConvNetArchitecture, seed: UInt64) {
        self.architecture = architecture
        let layout = ClientModelLayout(architecture: architecture)
        var parameters = [Float](repeating: 0, count: layout.totalCount)
        var generator = SeededGenerator(seed: seed)
        parameters.withUnsafeMutableBufferPointer { buffer in
            let stacks = [architecture.fullNetwork] + (0..<architecture.cutCount).map(architecture.auxiliaryHead)
            var offset = 0
            for stack in stacks {
                let range = offset..<(offset + stack.parameterCount)
                stack.initialize(UnsafeMutableBufferPointer(rebasing: buffer[range]), using: &generator)
                offset = range.upperBound
            }
        }
        self.parameters = parameters
        self.velocity = [Float](repeating: 0, count: layout.totalCount)
    }

    var layout: ClientModelLayout { ClientModelLayout(architecture: architecture) }

    /// Body and classifier parameters: what FedAvg and FedProx average.
    public var sharedParameters: [Float] { Array(parameters[0..<layout.sharedCount]) }

    /// Number of shared parameters.
    public var sharedParameterCount: Int { layout.sharedCount }

    /// Replaces the body and classifier parameters, for example with a FedAvg average. The auxiliary heads and
    /// the momentum buffer keep their values.
    public mutating func setSharedParameters(_ values: [Float]) throws {
        let count = layout.sharedCount
        guard values.count == count else {
            throw ComputeError.parameterCountMismatch(expected: count, actual: values.count)
        }
        parameters.replaceSubrange(0..<count, with: values)
    }

    /// Sets the momentum buffer to zero, as a freshly created optimizer would start.
    public mutating func resetMomentum() {
        velocity = [Float](repeating: 0, count: velocity.count)
    }

    mutating func withBuffers<Result>(
        _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Result
    ) -> Result {
        parameters.withUnsafeMutableBufferPointer { parameters in
            velocity.withUnsafeMutableBufferPointer { velocity in
                body(parameters.baseAddress!, velocity.baseAddress!)  // !-safe: a model has parameters
            }
        }
    }
}

/// Start offsets of the parts of a client model's flat parameters.
struct ClientModelLayout {
    let sharedCount: Int
    let auxiliaryOffsets: [Int]
    let totalCount: Int

    init(architecture: ConvNetArchitecture) {
        sharedCount = architecture.fullNetwork.parameterCount
        var offsets: [Int] = []
        var offset = sharedCount
        for cut in 0..<architecture.cutCount {
            offsets.append(offset)
            offset += architecture.auxiliaryHead(cut: cut).parameterCount
        }
        auxiliaryOffsets = offsets
        totalCount = offset
    }
}

// MARK: - Serialization

extension ClientModel {
    private static let formatTag = "elide.client-model.v1"

    /// Encodes all parameters and the momentum buffer in `BinaryWriter` form.
    public func serialized() -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(Self.formatTag)
        writer.write(architecture)
        writer.write(parameters)
        writer.write(velocity)
        return writer.bytes
    }

    /// Decodes what `serialized()` wrote, and checks the parameter counts against the architecture.
    public init(serialized bytes: [UInt8]) throws {
        var reader = BinaryReader(bytes)
        try reader.expectTag(Self.formatTag)
        architecture = try reader.architecture()
        parameters = try reader.floats("parameters")
        velocity = try reader.floats("velocity")
        try reader.finish("client model")
        let expected = ClientModelLayout(architecture: architecture).totalCount
        guard parameters.count == expected, velocity.count == expected else {
            throw ComputeError.invalidSerializedModel(
                "the architecture needs \(expected) parameters, but the data contains \(parameters.count) parameters "
                    + "and \(velocity.count) momentum values")
        }
    }
}

extension BinaryWriter {
    mutating func write(_ architecture: ConvNetArchitecture) {
        for value in [
            architecture.channels, architecture.height, architecture.width, architecture.classes, architecture.conv1,
            architecture.conv2, architecture.kernel, architecture.padding, architecture.hidden,
        ] {
            write(value)
        }
    }
}

extension BinaryReader {
    mutating func architecture() throws -> ConvNetArchitecture {
        let architecture = ConvNetArchitecture(
            channels: try int("architecture.channels"), height: try int("architecture.height"),
            width: try int("architecture.width"), classes: try int("architecture.classes"),
            conv1: try int("architecture.conv1"), conv2: try int("architecture.conv2"),
            kernel: try int("architecture.kernel"), padding: try int("architecture.padding"),
            hidden: try int("architecture.hidden"))
        do {
            try architecture.validate()
        } catch {
            throw ComputeError.invalidSerializedModel("\(error)")
        }
        return architecture
    }

    mutating func expectTag(_ tag: String) throws {
        let found = try string("format tag")
        guard found == tag else {
            throw ComputeError.invalidSerializedModel("format tag is '\(found.prefix(64))', expected '\(tag)'")
        }
    }
}
