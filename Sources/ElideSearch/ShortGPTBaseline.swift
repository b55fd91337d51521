/// ShortGPT's block-influence baseline: drop the units that change the residual stream least.
///
/// A unit's block influence is 1 − cos(x_in, x_out), averaged over calibration tokens, where x_in and x_out are
/// the residual stream before and after the unit. The engine computes the scores and this type only picks the units,
/// so it needs no model. One-shot scoring ignores how drops interact, which is what EvoPress improves on.
public enum ShortGPTBaseline {
    /// Block influence per gene of a search space, indexed from layer 0 or pair 0.
    public enum Scores: Hashable, Codable, Sendable {
        /// For `.subBlock`: each attention and each MLP sub-block scored on its own residual update, the stream
        /// before and after that sub-block alone. The attention and MLP drops are picked separately, the lowest
        /// `droppedAttentionCount` attention scores and the lowest `droppedMLPCount` MLP scores.
        case subBlocks(attention: [Double], mlp: [Double])
        /// For `.block`: one score per layer, from the stream before the layer to the stream after it.
        case blocks([Double])
        /// For `.pair`: one score per pair j, from the stream before layer 2j to the stream after layer 2j + 1.
        case pairs([Double])
    }

    /// Builds the genome that drops the lowest-scoring units of `space`. Equal scores drop the earlier unit first.
    public static func genome(for space: DepthSearchSpace, scores: Scores) throws -> DepthGenome {
        switch (space.unit, scores) {
        case (.subBlock, .subBlocks(let attention, let mlp)):
            let droppedAttention = try lowest(space.droppedAttentionCount, of: attention, name: "attention", space)
            let droppedMLP = try lowest(space.droppedMLPCount, of: mlp, name: "MLP", space)
            return space.genome(droppedGenes: [droppedAttention, droppedMLP])
        case (.block, .blocks(let values)):
            return space.genome(droppedGenes: [try lowest(space.droppedUnitCount, of: values, name: "block", space)])
        case (.pair, .pairs(let values)):
            return space.genome(droppedGenes: [try lowest(space.droppedUnitCount, of: values, name: "pair", space)])
        default:
            throw BaselineInputError.scoresDoNotMatchUnit(unit: space.unit)
        }
    }

    /// Indices of the `count` lowest values, ascending.
    private static func lowest(_ count: Int, of values: [Double], name: String, _ space: DepthSearchSpace) throws
        -> [Int]
    {
        let expected = space.unit == .pair ? space.layerCount / 2 : space.layerCount
        try BaselineInputError.check(values, name: "\(name) scores", expectedCount: expected)
        return FitnessSubmission.ranking(values).prefix(count).sorted()
    }
}

/// Scores handed to a baseline that do not fit the search space.
public enum BaselineInputError: Error, Hashable, Sendable {
    /// Scores of another unit than the space's.
    case scoresDoNotMatchUnit(unit: DepthSearchUnit)
    /// A score list of the wrong length.
    case scoreCountMismatch(name: String, expected: Int, actual: Int)
    /// A NaN or infinite score.
    case nonFiniteScore(name: String, index: Int, value: Double)
    /// Sub-block drop counts that no contiguous window of sub-blocks matches.
    case noContiguousWindow(attention: Int, mlp: Int)

    static func check(_ values: [Double], name: String, expectedCount: Int) throws {
        guard values.count == expectedCount else {
            throw scoreCountMismatch(name: name, expected: expectedCount, actual: values.count)
        }
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw nonFiniteScore(name: name, index: index, value: values[index])
        }
    }
}

extension BaselineInputError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .scoresDoNotMatchUnit(let unit):
            return "Baseline scores do not match unit \(unit.rawValue). Pass sub-block scores for unit sub-block, "
                + "block scores for unit block and pair scores for unit pair."
        case .scoreCountMismatch(let name, let expected, let actual):
            return "The baseline got \(actual) \(name) but the search space needs \(expected). Score every unit "
                + "once, in order."
        case .nonFiniteScore(let name, let index, let value):
            return "Entry \(index) of the \(name) is \(value). Check the hidden states the engine computed it from."
        case .noContiguousWindow(let attention, let mlp):
            return "No contiguous window of sub-blocks drops exactly \(attention) attention and \(mlp) MLP "
                + "sub-blocks, because the counts differ by more than one. Use a fraction or a total count."
        }
    }
}
