/// An error from reading or writing an ONNX model file.
///
/// The description names the file, the node or tensor concerned, what is wrong and what to do next, for
/// example: `ONNX file 'm.onnx', tensor 'w': raw_data holds 12 bytes but dims [2, 3] need 24 …`.
public struct ONNXError: Error, CustomStringConvertible, Sendable {
    /// The category of a problem, for callers and tests that branch on it.
    public enum Kind: Sendable, Equatable {
        /// The file could not be opened, inspected or mapped.
        case cannotOpen
        /// The file is larger than the 2 GiB that one protobuf message may take.
        case tooLarge
        /// protobuf-c could not parse the bytes as an ONNX ModelProto.
        case invalidProtobuf
        /// The model has no graph.
        case missingGraph
        /// A tensor's dimensions, element type or data are inconsistent.
        case invalidTensor
        /// A tensor keeps its values in an external file, which Elide does not read.
        case externalData
        /// Two initializers have the same name.
        case duplicateInitializer
        /// A tensor was requested by name but the model has none with that name.
        case missingTensor
        /// A tensor was requested as floats but contains another element type.
        case wrongElementType
    }

    /// The category of the problem.
    public let kind: Kind
    /// The file being read; nil for a model decoded from memory.
    public let path: String?
    /// The tensor concerned, if any.
    public let tensorName: String?
    /// The problem, in one or more sentences without the location.
    public let problem: String
    /// The suggested next step for the user.
    public let remedy: String

    public init(_ kind: Kind, path: String?, tensorName: String? = nil, problem: String, remedy: String? = nil) {
        self.kind = kind
        self.path = path
        self.tensorName = tensorName
        self.problem = problem
        self.remedy = remedy ?? Self.defaultRemedy(for: kind)
    }

    public var description: String {
        var location = [path.map { "ONNX file '\($0)'" } ?? "ONNX model"]
        if let tensorName {
            location.append("tensor '\(tensorName)'")
        }
        return "\(location.joined(separator: ", ")): \(problem). \(remedy)"
    }

    static func defaultRemedy(for kind: Kind) -> String {
        switch kind {
        case .cannotOpen:
            return "Check that the path exists, is a regular file and is readable."
        case .tooLarge:
            return "Elide does not read ONNX external data files either, so use a model under 2 GiB."
        case .invalidProtobuf, .missingGraph:
            return "This is not an ONNX model or the file is damaged; check the path, fetch the file again and "
                + "compare its sha256."
        case .invalidTensor, .duplicateInitializer:
            return "The file is damaged or was written by a faulty exporter; export or fetch it again."
        case .externalData:
            return "Export the model with its weights inside the .onnx file (onnx.save_model with "
                + "save_as_external_data=False)."
        case .missingTensor, .wrongElementType:
            return "Check that the model is the one the caller expects."
        }
    }
}
