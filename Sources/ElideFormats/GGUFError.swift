#if canImport(Glibc)
    import Glibc
#endif

/// An error from reading or writing a GGUF file.
///
/// The description names the file, where the problem is (a byte offset, a metadata key or a tensor),
/// what is wrong, and what to do next, for example:
/// `GGUF file 'm.gguf', tensor 'blk.0.attn_q.weight', byte 1204: unknown tensor type id 12 (Q4_K) …`.
public struct GGUFError: Error, CustomStringConvertible, Sendable {
    /// The category of a problem, for callers and tests that branch on it.
    public enum Kind: Sendable, Equatable {
        /// The file could not be opened, inspected or mapped.
        case cannotOpen
        /// The file ends before a field that the layout requires.
        case truncated
        /// The first four bytes are not `GGUF`.
        case badMagic
        /// The version is not 2 or 3, or the file is big-endian.
        case unsupportedVersion
        /// A metadata value type id is not one of the 13 that GGUF defines.
        case unknownValueType
        /// A tensor's ggml type id is not one Elide reads.
        case unknownTensorType
        /// A key, string value or tensor name is not valid UTF-8.
        case invalidUTF8
        /// A count or length (tensor count, array count, string length) exceeds the bytes left in the
        /// file, because the file is truncated or the field is damaged.
        case countTooLarge
        /// A metadata value is out of range or of the wrong type (for example `general.alignment`).
        case invalidMetadata
        /// The same metadata key appears twice.
        case duplicateKey
        /// A tensor's dimensions are invalid: count outside 1...4, a dimension below 1, an element count
        /// that overflows, or a first dimension that is not a whole number of blocks.
        case invalidDimensions
        /// Two tensors have the same name.
        case duplicateTensorName
        /// A tensor's data offset is not a multiple of the file's alignment.
        case misalignedTensor
        /// A tensor's data reaches past the end of the file.
        case tensorDataOutOfBounds
        /// Two tensors' data ranges overlap.
        case overlappingTensors
        /// The writer was given inconsistent input (wrong byte count, duplicate name, invalid alignment).
        case invalidWriterInput
        /// Creating, writing, syncing or renaming the output file failed.
        case writeFailed
    }

    /// The category of the problem.
    public let kind: Kind
    /// The file being read or written; nil for writer input errors raised before a path is known.
    public let path: String?
    /// Absolute byte offset of the offending field, when the problem sits at one place in the file.
    public let offset: Int?
    /// The tensor concerned, if any.
    public let tensorName: String?
    /// The metadata key concerned, if any.
    public let metadataKey: String?
    /// The problem, in one or more sentences without the location.
    public let problem: String
    /// The suggested next step for the user.
    public let remedy: String

    public init(
        _ kind: Kind,
        path: String?,
        offset: Int? = nil,
        tensorName: String? = nil,
        metadataKey: String? = nil,
        problem: String,
        remedy: String? = nil
    ) {
        self.kind = kind
        self.path = path
        self.offset = offset
        self.tensorName = tensorName
        self.metadataKey = metadataKey
        self.problem = problem
        self.remedy = remedy ?? Self.defaultRemedy(for: kind)
    }

    public var description: String {
        var location: [String] = []
        if let path {
            location.append("GGUF file '\(path)'")
        } else {
            location.append("GGUF writer")
        }
        if let metadataKey {
            location.append("metadata key '\(metadataKey)'")
        }
        if let tensorName {
            location.append("tensor '\(tensorName)'")
        }
        if let offset {
            location.append("byte \(offset)")
        }
        return "\(location.joined(separator: ", ")): \(problem). \(remedy)"
    }

    static func defaultRemedy(for kind: Kind) -> String {
        switch kind {
        case .cannotOpen:
            return "Check that the path exists, is a regular file and is readable."
        case .truncated:
            return "The file is incomplete, probably cut off while downloading or copying; fetch it again and "
                + "compare its sha256."
        case .badMagic:
            return "This is not a GGUF file; check the path."
        case .unsupportedVersion:
            return "Convert the model again with a current llama.cpp (convert_hf_to_gguf.py), which writes "
                + "little-endian GGUF v3."
        case .unknownTensorType:
            return "Elide reads F32, F16, BF16, Q4_0, Q4_1, Q8_0 and Q8_1; requantize the model to one of them "
                + "with llama-quantize."
        case .countTooLarge:
            return "The file is truncated or damaged; fetch it again and compare its sha256."
        case .unknownValueType, .invalidUTF8, .invalidMetadata, .duplicateKey,
            .invalidDimensions, .duplicateTensorName, .misalignedTensor, .tensorDataOutOfBounds,
            .overlappingTensors:
            return "The file is damaged or was written by a faulty tool; fetch or convert it again."
        case .invalidWriterInput:
            return "Fix the tensors or metadata passed to GGUFWriter."
        case .writeFailed:
            return "Check that the directory exists, is writable and has free space."
        }
    }

    /// Describes an `errno` value, for I/O failure messages.
    static func errnoText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
