/// Failures to build, split or reassemble a tensor.
public enum TensorCodecError: Error, Equatable, CustomStringConvertible {
    /// The dtype is unspecified, a dimension is negative, the value count is not a whole number of blocks,
    /// or the size overflows.
    case invalidLayout(dtype: WireMessage.TensorDType, shape: [Int])
    /// The bytes do not match the size that dtype and shape call for.
    case sizeMismatch(dtype: WireMessage.TensorDType, shape: [Int], expectedBytes: Int, actualBytes: Int)
    /// The tensor is larger than the receiver accepts.
    case tooLarge(tensorID: String, totalBytes: Int, maximum: Int)
    /// A chunk arrived with the wrong index.
    case chunkOutOfOrder(tensorID: String, expectedIndex: Int, receivedIndex: Int)
    /// A chunk disagrees with the first chunk of its tensor, or its sizes do not add up.
    case inconsistentChunk(tensorID: String, chunkIndex: Int, reason: String)
    /// A chunk's zstd data did not decompress to its raw length.
    case decompressionFailed(tensorID: String, chunkIndex: Int, reason: String)
    /// A chunk arrived after the tensor was complete.
    case alreadyComplete(tensorID: String)

    public var description: String {
        switch self {
        case .invalidLayout(let dtype, let shape):
            return "no valid byte size for dtype \(dtype.rawValue) with shape \(shape): the dtype must be known, "
                + "dimensions non-negative, and block formats need a multiple of 32 values"
        case .sizeMismatch(let dtype, let shape, let expected, let actual):
            return "tensor of dtype \(dtype.rawValue) and shape \(shape) needs \(expected) bytes but has \(actual)"
        case .tooLarge(let tensorID, let total, let maximum):
            return "tensor \(tensorID) has \(total) bytes, above this receiver's maximum of \(maximum) bytes"
        case .chunkOutOfOrder(let tensorID, let expected, let received):
            return "tensor \(tensorID): expected chunk \(expected) but received chunk \(received); "
                + "chunks must arrive in order on one connection"
        case .inconsistentChunk(let tensorID, let index, let reason):
            return "tensor \(tensorID), chunk \(index): \(reason)"
        case .decompressionFailed(let tensorID, let index, let reason):
            return "tensor \(tensorID), chunk \(index): zstd decompression failed: \(reason)"
        case .alreadyComplete(let tensorID):
            return "tensor \(tensorID) is already complete; a chunk arrived after its last chunk"
        }
    }
}
