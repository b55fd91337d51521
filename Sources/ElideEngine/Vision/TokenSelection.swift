import ElideSupport

/// Pure token-selection rules shared by the vision policies: top-K by score, EViT's fused token, uniform-grid
/// and seeded random subsets of a patch grid.
public enum TokenSelection {
    /// Returns the indices of the `count` largest scores in ascending index order; ties keep the lower index.
    public static func top(_ count: Int, of scores: [Float]) -> [Int] {
        guard count < scores.count else { return Array(scores.indices) }
        guard count > 0 else { return [] }
        let ranked = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        return ranked.prefix(count).sorted()
    }

    /// Number of non-CLS tokens EViT keeps out of `candidates`: ⌈keepRate · candidates⌉, at least 1.
    public static func keptCount(keepRate: Double, candidates: Int) -> Int {
        guard candidates > 0 else { return 0 }
        // The small tolerance stops 0.3 · 10 = 3.0000000000000004 from rounding up to 4.
        return min(candidates, max(1, Int((keepRate * Double(candidates) - 1e-9).rounded(.up))))
    }

    /// Returns EViT's fused token: the rows `dropped` of `values` (row width `width`) averaged with weights
    /// `weights[row]`, normalised to sum to 1. Equal weights are used when they all are zero.
    public static func fusedToken(values: [Float], width: Int, dropped: [Int], weights: [Float]) -> [Float] {
        var fused = [Float](repeating: 0, count: width)
        var total: Float = dropped.reduce(0) { $0 + weights[$1] }
        let uniform = !(total > 0)
        if uniform { total = Float(dropped.count) }
        for row in dropped {
            let weight = (uniform ? 1 : weights[row]) / total
            for column in 0..<width {
                fused[column] += weight * values[row * width + column]
            }
        }
        return fused
    }

    /// Returns `count` grid positions (row · gridWidth + column) of `region` spread on a uniform 2-D grid.
    ///
    /// `region` lists the positions of a rectangular block in row-major order, `regionHeight` rows by
    /// `regionWidth` columns. The points are the centres of an r × c lattice with r/c close to the block's
    /// aspect ratio; when r · c exceeds `count`, evenly spaced lattice points are kept.
    public static func uniformGrid(_ count: Int, region: [Int], regionHeight: Int, regionWidth: Int) -> [Int] {
        precondition(region.count == regionHeight * regionWidth, "region must be a full rectangular block")
        guard count < region.count else { return region }
        guard count > 0 else { return [] }
        var rows = Int((Double(count * regionHeight) / Double(regionWidth)).squareRoot().rounded())
        rows = max(1, min(regionHeight, rows))
        var columns = min(regionWidth, (count + rows - 1) / rows)
        if rows * columns < count { rows = min(regionHeight, (count + columns - 1) / columns) }
        if rows * columns < count { columns = min(regionWidth, (count + rows - 1) / rows) }

        var lattice: [Int] = []
        for i in 0..<rows {
            let row = Int((Double(i) + 0.5) * Double(regionHeight) / Double(rows))
            for j in 0..<columns {
                let column = Int((Double(j) + 0.5) * Double(regionWidth) / Double(columns))
                lattice.append(region[row * regionWidth + column])
            }
        }
        return (0..<count).map { lattice[Int((Double($0) + 0.5) * Double(lattice.count) / Double(count))] }.sorted()
    }

    /// Returns `count` entries of `region` drawn without replacement, in ascending order.
    public static func random(_ count: Int, from region: [Int], generator: inout SeededGenerator) -> [Int] {
        guard count < region.count else { return region.sorted() }
        var pool = region
        // Partial Fisher–Yates: the first `count` slots end up a uniform sample.
        for index in 0..<count {
            let pick = index + Int(generator.next() % UInt64(pool.count - index))
            pool.swapAt(index, pick)
        }
        return pool.prefix(count).sorted()
    }
}
