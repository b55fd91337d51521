import ElideTensor

/// Location, shape and element type of one tensor in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Sizes in ggml order: `dimensions[0]` (ne0) is the contiguous one, so a weight matrix applied as
    /// `y = W x` with `x` of width `n` and `y` of width `m` has dimensions `[n, m]`.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Absolute byte offset of the first byte of data in the file.
    public let offset: Int
    /// Product of the dimensions.
    public let elementCount: Int
    /// Bytes of data: `elementCount / type.blockSize * type.blockBytes`.
    public let byteCount: Int
}

// MARK: - Shape rules shared by the reader and the writer

extension GGUFTensorInfo {
    /// Maximum number of dimensions of a ggml tensor (`GGML_MAX_DIMS` in ggml).
    static let maximumDimensionCount = 4

    /// Computes element and byte counts for a tensor. A shape is invalid when it has a dimension count
    /// outside 1...4, a dimension below 1, or a total that overflows `Int`. It is also invalid when its
    /// first dimension is not a whole number of blocks, because ggml quantizes along rows.
    static func sizes(
        dimensions: [Int], type: GGMLType
    ) -> Result<(elementCount: Int, byteCount: Int), ShapeProblem> {
        guard (1...maximumDimensionCount).contains(dimensions.count) else {
            return .failure(
                ShapeProblem(
                    "has \(dimensions.count) dimensions; ggml tensors have 1 to \(maximumDimensionCount)"))
        }
        if let index = dimensions.firstIndex(where: { $0 < 1 }) {
            return .failure(
                ShapeProblem("dimension \(index) is \(dimensions[index]); every dimension must be at least 1"))
        }
        guard dimensions[0] % type.blockSize == 0 else {
            return .failure(
                ShapeProblem(
                    "first dimension \(dimensions[0]) is not a multiple of the \(type) block size "
                        + "\(type.blockSize), so its element count is not a whole number of blocks"))
        }

        var elementCount = 1
        for dimension in dimensions {
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                return .failure(ShapeProblem("dimensions \(dimensions) have more elements than Int can count"))
            }
            elementCount = product
        }
        let (byteCount, overflow) = (elementCount / type.blockSize).multipliedReportingOverflow(by: type.blockBytes)
        guard !overflow else {
            return .failure(ShapeProblem("dimensions \(dimensions) of type \(type) need more bytes than Int can count"))
        }
        return .success((elementCount, byteCount))
    }

    /// Reason a tensor shape is invalid, as a sentence fragment.
    struct ShapeProblem: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }
}
