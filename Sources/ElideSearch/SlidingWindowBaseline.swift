/// The sliding-window baseline: drop the contiguous run of units whose input and output hidden states are closest
/// in angular distance, arccos(cos(x, y)) / π averaged over calibration tokens.
///
/// Residual state r is the residual stream before sub-block r, counting sub-blocks in forward order (attention 0,
/// MLP 0, attention 1, …), so state 2i enters layer i and state 2n leaves the last layer. A window over units
/// p..<p+K is scored by the distance from the state before its first sub-block to the state after its last one.
///
/// How the budget maps to a window length K, by unit:
/// - `.block`: K = dropped blocks, windows start at any layer.
/// - `.pair`: K = dropped pairs, windows start at an even layer.
/// - `.subBlock`: the window runs over the interleaved sub-block sequence and drops both kinds inside it, so
///   K = droppedAttentionCount + droppedMLPCount. Only windows holding exactly the space's count of each kind are
///   admissible: any start when the counts are equal, and starts at an attention sub-block when attention drops
///   one more (the default split of an odd total).
public enum SlidingWindowBaseline {
    /// One admissible window and the two residual states that score it.
    public struct Window: Hashable, Codable, Sendable {
        /// First dropped unit: a sub-block position, a layer or a pair index, as the space's unit counts.
        public let start: Int
        /// Residual state before the first dropped sub-block.
        public let fromState: Int
        /// Residual state after the last dropped sub-block.
        public let toState: Int
    }

    /// Lists the admissible windows of `space` in order of `start`. `genome(for:distances:)` takes one distance
    /// for each.
    public static func windows(for space: DepthSearchSpace) throws -> [Window] {
        let layers = space.layerCount
        switch space.unit {
        case .subBlock:
            let length = space.droppedSubBlockCount
            let windows = (0...(2 * layers - length)).filter { start in
                // Attention sub-blocks sit at even positions.
                let attention = start % 2 == 0 ? (length + 1) / 2 : length / 2
                return attention == space.droppedAttentionCount
            }
            guard !windows.isEmpty else {
                throw BaselineInputError.noContiguousWindow(
                    attention: space.droppedAttentionCount, mlp: space.droppedMLPCount)
            }
            return windows.map { Window(start: $0, fromState: $0, toState: $0 + length) }
        case .block:
            let length = space.droppedUnitCount
            return (0...(layers - length)).map { Window(start: $0, fromState: 2 * $0, toState: 2 * ($0 + length)) }
        case .pair:
            let length = space.droppedUnitCount
            return (0...(layers / 2 - length)).map {
                Window(start: $0, fromState: 4 * $0, toState: 4 * ($0 + length))
            }
        }
    }

    /// Builds the genome that drops the window with the smallest distance. Equal distances pick the earlier window.
    ///
    /// - Parameter distances: one angular distance per window of `windows(for: space)`, in the same order.
    public static func genome(for space: DepthSearchSpace, distances: [Double]) throws -> DepthGenome {
        let windows = try windows(for: space)
        try BaselineInputError.check(distances, name: "window distances", expectedCount: windows.count)
        // !-safe: `windows(for:)` returns at least one window and `check` matched the counts.
        let chosen = windows[FitnessSubmission.ranking(distances).first!]
        let length = chosen.toState - chosen.fromState
        switch space.unit {
        case .subBlock:
            let positions = Array(chosen.start..<(chosen.start + length))
            return space.genome(droppedGenes: [
                positions.filter { $0 % 2 == 0 }.map { $0 / 2 }, positions.filter { $0 % 2 == 1 }.map { $0 / 2 },
            ])
        case .block, .pair:
            return space.genome(droppedGenes: [Array(chosen.start..<(chosen.start + space.droppedUnitCount))])
        }
    }
}
