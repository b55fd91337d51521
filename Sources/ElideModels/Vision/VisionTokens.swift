/// The token matrix between vision transformer layers.
public struct VisionTokens: Sendable, Equatable {
    /// Token vectors, `rows × width`, row-major.
    public var values: [Float]
    public var rows: Int
    public var width: Int
    /// Grid position (`row * gridWidth + column`) of each row; -1 for the CLS token and for any token that is
    /// not a single patch (a fused token, a cache or carrier token). Code that adds or removes rows must keep it
    /// in step with `values`.
    public var positions: [Int]
    /// The patch grid of the image the tokens came from.
    public var gridHeight: Int
    public var gridWidth: Int

    public init(values: [Float], rows: Int, width: Int, positions: [Int], gridHeight: Int, gridWidth: Int) {
        precondition(values.count == rows * width, "VisionTokens: \(values.count) values for \(rows)×\(width)")
        precondition(positions.count == rows, "VisionTokens: \(positions.count) positions for \(rows) rows")
        self.values = values
        self.rows = rows
        self.width = width
        self.positions = positions
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
    }

    /// Returns the vector of row `index`.
    public func row(_ index: Int) -> ArraySlice<Float> {
        values[(index * width)..<((index + 1) * width)]
    }

    /// Returns a copy with only the rows at `rows`, in that order (an index may repeat).
    public func keeping(rows indices: [Int]) -> VisionTokens {
        var kept = [Float]()
        kept.reserveCapacity(indices.count * width)
        for index in indices {
            precondition(index >= 0 && index < rows, "VisionTokens.keeping: row \(index) outside 0..<\(rows)")
            kept.append(contentsOf: row(index))
        }
        return VisionTokens(
            values: kept, rows: indices.count, width: width, positions: indices.map { positions[$0] },
            gridHeight: gridHeight, gridWidth: gridWidth)
    }

    /// Appends rows (`positions.count × width` values) with their grid positions.
    public mutating func append(rows newRows: [Float], positions newPositions: [Int]) {
        precondition(
            newRows.count == newPositions.count * width,
            "VisionTokens.append: \(newRows.count) values for \(newPositions.count) rows of width \(width)")
        values.append(contentsOf: newRows)
        positions.append(contentsOf: newPositions)
        rows += newPositions.count
    }
}
