/// Element types of ggml tensors, with the numeric ids GGUF files store.
///
/// Only the types Elide reads or writes are listed; GGUF readers reject every other id with the
/// id and the tensor's name.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q8_0 = 8
    case q8_1 = 9
    case bf16 = 30

    /// Number of elements one block holds (1 for the plain float types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q8_0, .q8_1: return 32
        }
    }

    /// Bytes one block occupies in a file and in memory.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 2 + 16  // fp16 scale, 32 nibbles
        case .q4_1: return 2 + 2 + 16  // fp16 scale, fp16 minimum, 32 nibbles
        case .q8_0: return 2 + 32  // fp16 scale, 32 int8
        case .q8_1: return 2 + 2 + 32  // fp16 scale, fp16 scale × sum, 32 int8
        }
    }

    /// Bytes a row of `count` elements occupies; `count` must be a multiple of `blockSize`.
    public func rowBytes(_ count: Int) -> Int {
        precondition(count % blockSize == 0, "row of \(count) elements is not a whole number of \(self) blocks")
        return count / blockSize * blockBytes
    }

    /// The name ggml and llama.cpp print for this type.
    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .bf16: return "BF16"
        }
    }
}
