/// HiRED's token-budget arithmetic on 2-D partitions, kept free of the model so it can be tested alone.
///
/// HiRED (AAAI 2025, arXiv 2408.10945) gives ⌊α · N⌋ tokens to the full view and splits the rest
/// over the sub-images in proportion to the full view's early-layer CLS attention inside each sub-image's
/// region. The public code (hasanar1f/HiRED, `HiRED_sub_img_budgets`) reshapes the flat attention so that the
/// "regions" are row strips, and truncates each share so the leftover budget is dropped. This implementation
/// uses the 2-D quadrant each sub-image covers, and hands leftover tokens out by largest remainder, so exactly
/// N tokens are kept whenever N does not exceed the tokens available.
public enum HiREDAllocation {
    /// Total tokens kept for a budget fraction of `tokenCount` tokens: ⌊fraction · tokenCount⌋, at least 1.
    public static func budgetTokens(fraction: Double, tokenCount: Int) -> Int {
        // The tolerance keeps 0.29 · 100 = 28.999999999999996 at 29.
        max(1, min(tokenCount, Int((fraction * Double(tokenCount) + 1e-9).rounded(.down))))
    }

    /// Returns the grid positions of each 2-D block when a `gridHeight` × `gridWidth` grid is cut into
    /// `perSide` × `perSide` blocks, blocks in row-major order and positions row-major inside each block.
    /// Block edges fall at ⌊i · grid / perSide⌋, so uneven grids give blocks that differ by one row or column.
    public static func quadrantRegions(gridHeight: Int, gridWidth: Int, perSide: Int) -> [[Int]] {
        var regions: [[Int]] = []
        for blockRow in 0..<perSide {
            let rows = (blockRow * gridHeight / perSide)..<((blockRow + 1) * gridHeight / perSide)
            for blockColumn in 0..<perSide {
                let columns = (blockColumn * gridWidth / perSide)..<((blockColumn + 1) * gridWidth / perSide)
                regions.append(rows.flatMap { row in columns.map { row * gridWidth + $0 } })
            }
        }
        return regions
    }

    /// Splits `total` tokens over partitions with the given `capacities` (tokens available in each).
    ///
    /// Partition 0 is the full view and first receives ⌊alpha · total⌋. The remainder is shared among the
    /// others in proportion to `scores` (equal shares when the scores sum to zero) by largest remainder. A
    /// partition never receives more than its capacity; the excess is shared again among partitions with room.
    /// The result sums to min(total, Σ capacities).
    public static func allocate(total: Int, alpha: Double, scores: [Double], capacities: [Int]) -> [Int] {
        precondition(scores.count + 1 == capacities.count, "one score per sub-image, capacities include the full view")
        let available = min(total, capacities.reduce(0, +))
        var shares = [Int](repeating: 0, count: capacities.count)
        shares[0] = min(capacities[0], Int((alpha * Double(available) + 1e-9).rounded(.down)))
        var remaining = available - shares[0]

        // Share what is left among partitions with room, by score; repeat while caps push tokens back.
        while remaining > 0 {
            let open = (1..<capacities.count).filter { shares[$0] < capacities[$0] }
            if open.isEmpty {
                // Only the full view has room left: alpha was too small for the sub-images' capacity.
                shares[0] += remaining
                break
            }
            let weights = open.map { max(0, scores[$0 - 1]) }
            let weightSum = weights.reduce(0, +)
            let exact = weights.map {
                weightSum > 0 ? Double(remaining) * $0 / weightSum : Double(remaining) / Double(open.count)
            }
            var granted = exact.map { Int($0.rounded(.down)) }
            var leftover = remaining - granted.reduce(0, +)
            let byRemainder = exact.indices.sorted {
                (exact[$0] - Double(granted[$0]), -$0) > (exact[$1] - Double(granted[$1]), -$1)
            }
            for index in byRemainder where leftover > 0 {
                granted[index] += 1
                leftover -= 1
            }
            remaining = 0
            for (slot, partition) in open.enumerated() {
                let room = capacities[partition] - shares[partition]
                let take = min(room, granted[slot])
                shares[partition] += take
                remaining += granted[slot] - take
            }
        }
        return shares
    }
}
