/// The gene of a depth search: what one mutation step moves.
public enum DepthSearchUnit: String, Hashable, Codable, Sendable, CaseIterable {
    /// Attention and MLP sub-blocks are separate genes with independent masks, each with a fixed drop count.
    case subBlock = "sub-block"
    /// Whole blocks: a layer's attention and MLP are dropped together.
    case block
    /// Pairs of consecutive blocks (layers 0–1, 2–3, …) are one gene and drop together. Needs an even layer count.
    case pair

    /// Number of units in an n-layer model: 2n sub-blocks, n blocks or n/2 pairs.
    public func unitCount(layerCount: Int) -> Int {
        switch self {
        case .subBlock: 2 * layerCount
        case .block: layerCount
        case .pair: layerCount / 2
        }
    }

    /// Sub-blocks in one unit: 1, 2 or 4.
    public var subBlocksPerUnit: Int {
        switch self {
        case .subBlock: 1
        case .block: 2
        case .pair: 4
        }
    }
}

/// How much of a model a depth search drops.
public enum DropTarget: Hashable, Codable, Sendable {
    /// A share of the model's 2n sub-blocks, strictly between 0 and 1.
    ///
    /// It becomes round(fraction × units) units, rounding halves away from zero, where units are 2n sub-blocks,
    /// n blocks or n/2 pairs. A block is two sub-blocks, so the share of sub-blocks dropped stays the fraction.
    /// For `.subBlock`, an odd total K splits as ⌈K/2⌉ attention and ⌊K/2⌋ MLP sub-blocks. The extra drop goes to
    /// attention because an attention sub-block has fewer weights than an MLP one in Llama-style models
    /// (about a third of it in SmolLM2-135M), so the odd split removes the smaller part.
    case fraction(Double)
    /// A count of units: sub-blocks in total for `.subBlock` (split as for `.fraction`), blocks for `.block`,
    /// pairs for `.pair`.
    case count(Int)
    /// Exact attention and MLP sub-block counts. `.subBlock` takes any split, `.block` needs equal counts and
    /// `.pair` equal even counts, since those units drop both kinds of the same layers.
    case subBlockCounts(attention: Int, mlp: Int)

    /// Parses a command-line value: a whole number is a `.count` and a decimal such as `0.25` is a `.fraction`.
    public init(parsing text: String) throws {
        let trimmed = String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        if let count = Int(trimmed) {
            guard count >= 1 else { throw SearchConfigurationError.invalidDropTarget(text) }
            self = .count(count)
        } else if let fraction = Double(trimmed), fraction.isFinite {
            guard fraction > 0, fraction < 1 else { throw SearchConfigurationError.dropFractionOutOfRange(fraction) }
            self = .fraction(fraction)
        } else {
            throw SearchConfigurationError.invalidDropTarget(text)
        }
    }
}
