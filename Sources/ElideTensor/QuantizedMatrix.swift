/// A weight matrix stored row-major in one of ggml's element formats.
///
/// Each of `rows` rows holds `columns` elements (ggml's `ne0` is `columns`, `ne1` is `rows`). The
/// matrix does not own `data`: the caller keeps it alive for as long as the matrix is used, which is
/// the natural contract for tensors inside a memory-mapped GGUF file.
public struct QuantizedMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let data: UnsafeRawPointer

    /// Wraps `rows × columns` elements of `type` starting at `data`.
    ///
    /// `columns` must be a whole number of blocks of `type` (32 for the block formats).
    public init(type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer) {
        precondition(rows >= 0 && columns >= 0, "matrix shape \(rows)×\(columns) has a negative dimension")
        precondition(
            columns % type.blockSize == 0,
            "a \(type) row of \(columns) elements is not a whole number of \(type.blockSize)-element blocks")
        self.type = type
        self.rows = rows
        self.columns = columns
        self.data = data
    }

    /// Bytes one row occupies.
    public var rowBytes: Int { type.rowBytes(columns) }

    /// Bytes the whole matrix occupies.
    public var byteCount: Int { rowBytes * rows }

    /// Returns the address of row `row`'s first byte.
    @inline(__always)
    public func rowPointer(_ row: Int) -> UnsafeRawPointer {
        data + row * rowBytes
    }

    /// Expands row `row` into `columns` floats at `into`.
    public func dequantizeRow(_ row: Int, into: UnsafeMutablePointer<Float>) {
        precondition(row >= 0 && row < rows, "row \(row) is outside the matrix's \(rows) rows")
        BlockCodec.dequantize(type, rowPointer(row), count: columns, into: into)
    }

    /// Expands `rows` into consecutive rows of `columns` floats at `into`.
    public func dequantize(rows range: Range<Int>, into: UnsafeMutablePointer<Float>) {
        precondition(
            range.lowerBound >= 0 && range.upperBound <= rows,
            "rows \(range) are outside the matrix's \(rows) rows")
        for row in range {
            BlockCodec.dequantize(
                type, rowPointer(row), count: columns, into: into + (row - range.lowerBound) * columns)
        }
    }
}
