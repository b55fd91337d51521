import ElideModels
import ElideTensor
import Foundation

/// One-shot importance scores of the dense model's layers and sub-blocks, computed from its hidden
/// states on calibration tokens: the inputs of the ShortGPT and sliding-window baselines.
///
/// Every score is a mean over tokens. "Input of layer `layers`" means the last layer's output.
public struct BlockScores: Sendable, Equatable, Codable {
    public var layers: Int
    /// Tokens the means are taken over.
    public var tokenCount: Int
    /// ShortGPT's block influence of layer i: 1 − cos(input of layer i, input of layer i + 1)
    /// (Men et al., "ShortGPT: Layers in Large Language Models are More Redundant Than You Expect",
    /// arXiv 2403.03853). The least influential layers are dropped first.
    public var blockInfluence: [Double]
    /// The same for the attention sub-block of layer i: 1 − cos(input of layer i, state after its attention).
    public var attentionInfluence: [Double]
    /// The same for the MLP sub-block of layer i: 1 − cos(state after its attention, input of layer i + 1).
    public var mlpInfluence: [Double]
    /// `angularDistances[w − 1][i]` = arccos(cos(input of layer i, input of layer i + w)) / π for
    /// i in 0 ... layers − w (Gromov et al., "The Unreasonable Ineffectiveness of the Deeper Layers",
    /// arXiv 2403.17887). Dropping the window of w layers that starts at the smallest distance is the
    /// window baseline.
    public var angularDistances: [[Double]]

    /// Mean angular distances of every window of `width` layers, indexed by the window's first layer.
    public func windowDistances(width: Int) -> [Double] {
        precondition(width >= 1 && width <= layers, "a window covers 1 to \(layers) layers, not \(width)")
        return angularDistances[width - 1]
    }
}

/// Sums of the per-token terms of `BlockScores` over the sequences added so far.
public struct BlockScoreAccumulator: Sendable {
    public let layers: Int
    public private(set) var tokenCount = 0
    private var block: [Double]
    private var attention: [Double]
    private var mlp: [Double]
    /// Flattened `pairIndex(i, j)` for layer inputs 0 ≤ i < j ≤ layers.
    private var angular: [Double]

    /// Rows loaded at once: 64 rows of SmolLM2's 61 boundaries are 9 MiB of floats.
    static let rowBlock = 64

    public init(layers: Int) {
        self.layers = layers
        block = Array(repeating: 0, count: layers)
        attention = Array(repeating: 0, count: layers)
        mlp = Array(repeating: 0, count: layers)
        angular = Array(repeating: 0, count: (layers + 1) * layers / 2)
    }

    /// Index of the pair (input of layer i, input of layer j), i < j, in the flattened triangle.
    private func pairIndex(_ i: Int, _ j: Int) -> Int { j * (j - 1) / 2 + i }

    /// The number of per-token terms: block, attention and MLP influence, then the angular pairs.
    private var termCount: Int { 3 * layers + angular.count }

    /// Adds the first `tokens` tokens of one sequence's states. Terms are summed in token order, so the
    /// result does not depend on the pool's thread count.
    public mutating func add(_ states: DenseStates, tokens: Int, pool: ThreadPool) {
        precondition(states.boundaryCount == 2 * layers + 1, "states of \(states.boundaryCount) boundaries")
        precondition(tokens >= 0 && tokens <= states.tokens, "\(tokens) tokens requested of \(states.tokens)")
        let width = states.width
        let boundaries = states.boundaryCount
        let rowBlock = Self.rowBlock
        let terms = termCount
        // (boundaries, rowBlock, width) floats, then (rowBlock, terms) per-token terms.
        let values = UnsafeMutablePointer<Float>.allocate(capacity: boundaries * rowBlock * width)
        defer { values.deallocate() }
        let rowTerms = UnsafeMutablePointer<Double>.allocate(capacity: rowBlock * terms)
        defer { rowTerms.deallocate() }

        var first = 0
        while first < tokens {
            let rows = min(rowBlock, tokens - first)
            for boundary in 0..<boundaries {
                states.load(
                    boundary: SubBlockBoundary(index: boundary), rows: first..<first + rows,
                    into: values + boundary * rowBlock * width)
            }
            let accumulator = self
            pool.parallelFor(rows) { row in
                accumulator.tokenTerms(
                    values: values + row * width, boundaryStride: rowBlock * width, width: width,
                    into: rowTerms + row * terms)
            }
            for row in 0..<rows {
                accumulate(rowTerms + row * terms)
            }
            tokenCount += rows
            first += rows
        }
    }

    /// Writes one token's terms; `values` points at the token's row of boundary 0.
    private func tokenTerms(
        values: UnsafePointer<Float>, boundaryStride: Int, width: Int, into terms: UnsafeMutablePointer<Double>
    ) {
        func state(_ boundary: Int) -> UnsafePointer<Float> { values + boundary * boundaryStride }
        var norms = [Double](repeating: 0, count: 2 * layers + 1)
        for boundary in norms.indices {
            norms[boundary] = Double(Kernels.dot(state(boundary), state(boundary), count: width)).squareRoot()
        }
        func cosine(_ a: Int, _ b: Int) -> Double {
            let denominator = norms[a] * norms[b]
            guard denominator > 0 else { return 1 }
            let value = Double(Kernels.dot(state(a), state(b), count: width)) / denominator
            return min(1, max(-1, value))
        }
        for layer in 0..<layers {
            terms[layer] = 1 - cosine(2 * layer, 2 * layer + 2)
            terms[layers + layer] = 1 - cosine(2 * layer, 2 * layer + 1)
            terms[2 * layers + layer] = 1 - cosine(2 * layer + 1, 2 * layer + 2)
        }
        for j in 1...layers {
            for i in 0..<j {
                terms[3 * layers + pairIndex(i, j)] = acos(cosine(2 * i, 2 * j)) / Double.pi
            }
        }
    }

    private mutating func accumulate(_ terms: UnsafePointer<Double>) {
        for layer in 0..<layers {
            block[layer] += terms[layer]
            attention[layer] += terms[layers + layer]
            mlp[layer] += terms[2 * layers + layer]
        }
        for pair in angular.indices {
            angular[pair] += terms[3 * layers + pair]
        }
    }

    /// Returns the means over the tokens added so far.
    public func scores() -> BlockScores {
        let scale = tokenCount == 0 ? 0 : 1 / Double(tokenCount)
        let distances = (1...max(layers, 1)).map { width in
            (0...(layers - width)).map { start in angular[pairIndex(start, start + width)] * scale }
        }
        return BlockScores(
            layers: layers, tokenCount: tokenCount, blockInfluence: block.map { $0 * scale },
            attentionInfluence: attention.map { $0 * scale }, mlpInfluence: mlp.map { $0 * scale },
            angularDistances: layers == 0 ? [] : distances)
    }
}

extension CandidateEvaluator {
    /// Computes the baseline scores over the first `tokensPerSequence` tokens of `sequenceIDs`, from the
    /// cached dense states (building those that are missing).
    public func blockScores(sequenceIDs: [Int], tokensPerSequence: Int) throws -> BlockScores {
        var accumulator = BlockScoreAccumulator(layers: model.configuration.blockCount)
        for id in sequenceIDs {
            try calibration.validate(sequenceID: id, tokenCount: tokensPerSequence)
            let reference = try cache.reference(sequenceID: id)
            accumulator.add(reference.states, tokens: tokensPerSequence, pool: pool)
        }
        return accumulator.scores()
    }
}
