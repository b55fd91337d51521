import ElideEngine
import ElideModels
import ElideSearch
import ElideTensor
import Foundation

/// Sums, over tokens, the cosine-based similarity of pairs of residual-stream boundaries of the dense model:
/// the inputs of ShortGPT's block influence and of the sliding-window angular distance.
///
/// `BlockScores` covers layer inputs only. The sub-block and pair baselines also compare the state before an
/// MLP and the state after two layers, so this accumulator takes any list of boundary pairs.
struct BoundaryStatisticsAccumulator {
    let pairs: [BoundaryPair]
    private(set) var tokenCount = 0
    private var influenceSums: [Double]
    private var angularSums: [Double]

    /// Rows loaded at once per boundary.
    static let rowBlock = 64

    init(pairs: [BoundaryPair]) {
        self.pairs = pairs
        influenceSums = Array(repeating: 0, count: pairs.count)
        angularSums = Array(repeating: 0, count: pairs.count)
    }

    /// Adds the first `tokens` tokens of one sequence's dense states, in token order, so the sums do not depend
    /// on how sequences were split over tasks as long as each task adds its sequences in the same order.
    mutating func add(_ states: DenseStates, tokens: Int) {
        precondition(tokens <= states.tokens, "\(tokens) tokens requested of \(states.tokens)")
        let boundaries = Array(Set(pairs.flatMap { [$0.from, $0.to] })).sorted()
        let slot = Dictionary(uniqueKeysWithValues: boundaries.enumerated().map { ($0.element, $0.offset) })
        let width = states.width
        let rowBlock = Self.rowBlock
        // (boundaries, rowBlock, width) floats.
        let values = UnsafeMutablePointer<Float>.allocate(capacity: max(1, boundaries.count * rowBlock * width))
        defer { values.deallocate() }

        var first = 0
        while first < tokens {
            let rows = min(rowBlock, tokens - first)
            for (index, boundary) in boundaries.enumerated() {
                states.load(
                    boundary: SubBlockBoundary(index: boundary), rows: first..<first + rows,
                    into: values + index * rowBlock * width)
            }
            for row in 0..<rows {
                for (index, pair) in pairs.enumerated() {
                    // !-safe: `slot` has an entry for every boundary of every pair.
                    let a = values + (slot[pair.from]! * rowBlock + row) * width
                    let b = values + (slot[pair.to]! * rowBlock + row) * width
                    let cosine = Self.cosine(a, b, width: width)
                    influenceSums[index] += 1 - cosine
                    angularSums[index] += acos(cosine) / Double.pi
                }
            }
            tokenCount += rows
            first += rows
        }
    }

    /// Returns the means over the tokens added so far.
    func statistics() -> [BoundaryStatistics] {
        let scale = tokenCount == 0 ? 0 : 1 / Double(tokenCount)
        return pairs.indices.map { index in
            BoundaryStatistics(
                pair: pairs[index], influence: influenceSums[index] * scale,
                angularDistance: angularSums[index] * scale)
        }
    }

    /// cos(a, b) clamped to [-1, 1]; 1 when either vector is zero.
    static func cosine(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, width: Int) -> Double {
        let denominator =
            (Double(Kernels.dot(a, a, count: width)) * Double(Kernels.dot(b, b, count: width))).squareRoot()
        guard denominator > 0 else { return 1 }
        return min(1, max(-1, Double(Kernels.dot(a, b, count: width)) / denominator))
    }
}

/// The boundary pairs each baseline needs for a search space, and the genomes it picks from their statistics.
enum EvoPressBaselines {
    /// Lists ShortGPT's pairs, one per gene, from before to after the unit.
    static func shortGPTPairs(_ space: DepthSearchSpace) -> [BoundaryPair] {
        let layers = space.layerCount
        switch space.unit {
        case .subBlock:
            let attention = (0..<layers).map { BoundaryPair(from: 2 * $0, to: 2 * $0 + 1) }
            let mlp = (0..<layers).map { BoundaryPair(from: 2 * $0 + 1, to: 2 * $0 + 2) }
            return attention + mlp
        case .block:
            return (0..<layers).map { BoundaryPair(from: 2 * $0, to: 2 * $0 + 2) }
        case .pair:
            return (0..<layers / 2).map { BoundaryPair(from: 4 * $0, to: 4 * $0 + 4) }
        }
    }

    /// Lists the sliding-window pairs, one per admissible window, in `SlidingWindowBaseline.windows` order.
    static func windowPairs(_ space: DepthSearchSpace) throws -> [BoundaryPair] {
        try SlidingWindowBaseline.windows(for: space).map { BoundaryPair(from: $0.fromState, to: $0.toState) }
    }

    /// Lists every pair either baseline needs, without repeats, in a fixed order.
    static func allPairs(_ space: DepthSearchSpace) throws -> [BoundaryPair] {
        var seen = Set<BoundaryPair>()
        return (shortGPTPairs(space) + (try windowPairs(space))).filter { seen.insert($0).inserted }
    }

    static func shortGPTGenome(_ space: DepthSearchSpace, statistics: [BoundaryPair: BoundaryStatistics]) throws
        -> DepthGenome
    {
        let scores = try shortGPTPairs(space).map { try influence(of: $0, in: statistics) }
        let layers = space.layerCount
        switch space.unit {
        case .subBlock:
            return try ShortGPTBaseline.genome(
                for: space, scores: .subBlocks(attention: Array(scores[0..<layers]), mlp: Array(scores[layers...])))
        case .block:
            return try ShortGPTBaseline.genome(for: space, scores: .blocks(scores))
        case .pair:
            return try ShortGPTBaseline.genome(for: space, scores: .pairs(scores))
        }
    }

    static func windowGenome(_ space: DepthSearchSpace, statistics: [BoundaryPair: BoundaryStatistics]) throws
        -> DepthGenome
    {
        let distances = try windowPairs(space).map { pair in
            guard let value = statistics[pair]?.angularDistance else { throw missing(pair) }
            return value
        }
        return try SlidingWindowBaseline.genome(for: space, distances: distances)
    }

    private static func influence(of pair: BoundaryPair, in statistics: [BoundaryPair: BoundaryStatistics]) throws
        -> Double
    {
        guard let value = statistics[pair]?.influence else { throw missing(pair) }
        return value
    }

    private static func missing(_ pair: BoundaryPair) -> JobDriverError {
        JobDriverError(
            "the baseline statistics lack boundaries \(pair.from)→\(pair.to); the worker may run a different build")
    }
}
