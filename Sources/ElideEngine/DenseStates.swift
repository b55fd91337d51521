import ElideModels
import ElideTensor

/// Element type the dense hidden states are kept in.
public enum StateStorage: String, Sendable, Codable, CaseIterable {
    /// 2 bytes per value, rounded to nearest even; about 5e-4 relative error, half the memory of `f32`.
    case f16
    /// 4 bytes per value, exactly the states the forward pass computed.
    case f32

    var type: GGMLType { self == .f16 ? .f16 : .f32 }
    var bytesPerValue: Int { self == .f16 ? 2 : 4 }
}

/// The residual stream of one token sequence at every sub-block boundary of the dense model.
///
/// Holds `boundaryCount × tokens × width` values, boundary-major: the rows of one boundary are contiguous.
/// For SmolLM2-135M (30 layers, so 61 boundaries; width 576) and 1,024 tokens this is
/// 61 × 1,024 × 576 × 2 B = 72 MiB in `f16` and 144 MiB in `f32`.
/// Written once while the dense pass runs, then read by any number of threads.
public final class DenseStates: @unchecked Sendable {
    public let boundaryCount: Int
    public let tokens: Int
    public let width: Int
    public let storage: StateStorage
    /// (boundaryCount, tokens, width) values of `storage`'s type.
    private let values: UnsafeMutableRawPointer

    init(boundaryCount: Int, tokens: Int, width: Int, storage: StateStorage) {
        self.boundaryCount = boundaryCount
        self.tokens = tokens
        self.width = width
        self.storage = storage
        let byteCount = boundaryCount * tokens * width * storage.bytesPerValue
        values = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        values.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
    }

    deinit {
        values.deallocate()
    }

    /// Bytes the states occupy.
    public var byteCount: Int { boundaryCount * tokens * width * storage.bytesPerValue }

    /// Stores `count` rows of floats as rows `firstRow ..< firstRow + count` of `boundary`.
    func store(boundary: Int, firstRow: Int, rows: UnsafePointer<Float>, count: Int) {
        precondition(boundary < boundaryCount && firstRow + count <= tokens, "rows fall outside the stored states")
        for row in 0..<count {
            Kernels.convertRow(
                rows + row * width, count: width, to: storage.type, into: rowAddress(boundary, firstRow + row))
        }
    }

    /// Expands rows `rows` of `boundary` into floats at `into` (`rows.count × width` of them).
    public func load(boundary: SubBlockBoundary, rows: Range<Int>, into: UnsafeMutablePointer<Float>) {
        precondition(
            boundary.index < boundaryCount && rows.lowerBound >= 0 && rows.upperBound <= tokens,
            "rows \(rows) of boundary \(boundary.index) fall outside \(tokens) tokens × \(boundaryCount) boundaries")
        guard !rows.isEmpty else { return }
        let block = QuantizedMatrix(
            type: storage.type, rows: rows.count, columns: width, data: rowAddress(boundary.index, rows.lowerBound))
        block.dequantize(rows: 0..<rows.count, into: into)
    }

    private func rowAddress(_ boundary: Int, _ row: Int) -> UnsafeMutableRawPointer {
        values + ((boundary * tokens + row) * width) * storage.bytesPerValue
    }
}
