import ElideSupport

@testable import ElideSearch

/// Fitness functions that stand in for a model in search tests.
enum FakeFitness {
    /// Additive fitness: the sum of per-layer weights of dropped attention and MLP sub-blocks.
    static func additive(_ genome: DepthGenome) -> Double {
        genome.droppedAttention.reduce(0.0) { $0 + 1.0 + Double($1) * 0.5 }
            + genome.droppedMLP.reduce(0.0) { $0 + 2.0 + Double(($1 * 7) % 5) }
    }

    /// Computes a deterministic value in [-1, 1) from (genome, minibatch). Candidates on one minibatch get fixed
    /// noise, and the same genome on another minibatch gets different noise.
    static func noise(_ genome: DepthGenome, _ minibatch: Minibatch) -> Double {
        var key: UInt64 = 0x51_7CC1_B727_220A
        let parts =
            genome.droppedAttention + [-1] + genome.droppedMLP + [-2]
            + minibatch.sequences.flatMap { [$0.sequenceID, $0.tokenCount] }
        for part in parts {
            key = (key ^ UInt64(bitPattern: Int64(part))) &* 0x100_0000_01B3
        }
        var generator = SeededGenerator(seed: key)
        return Double(generator.nextUnitFloat()) * 2 - 1
    }
}

/// A synthetic whole-block fitness whose layer drops interact, so the best genome is not the k individually
/// cheapest blocks.
///
/// cost(S) = Σ_{i∈S} weight_i + Σ_{i<j∈S} interaction_ij + adjacencyPenalty · #{i: i, i+1 ∈ S}
///           + synergy when both 6 and 7 are in S.
/// The interactions come from a seeded generator, uniform in [-0.6, 0.6].
struct InteractingBlockFitness {
    static let weights: [Double] = [5.0, 1.0, 1.2, 3.0, 0.9, 2.5, 3.2, 2.6, 1.4, 6.0]
    static let adjacencyPenalty = 0.8
    static let synergy = -3.0
    let interactions: [[Double]]
    /// Noise amplitude at 512 tokens, shrinking as 1/√(tokens / 512).
    let noiseAmplitude: Double

    init(noiseAmplitude: Double) {
        var generator = SeededGenerator(seed: 2024)
        var table = [[Double]](repeating: [Double](repeating: 0, count: 10), count: 10)
        for i in 0..<10 {
            for j in (i + 1)..<10 {
                let value = (Double(generator.nextUnitFloat()) * 2 - 1) * 0.6
                table[i][j] = value
                table[j][i] = value
            }
        }
        interactions = table
        self.noiseAmplitude = noiseAmplitude
    }

    func cost(_ genome: DepthGenome) -> Double {
        let dropped = genome.droppedBlocks
        var total = dropped.reduce(0.0) { $0 + Self.weights[$1] }
        for (position, i) in dropped.enumerated() {
            for j in dropped[(position + 1)...] {
                total += interactions[i][j]
                if j == i + 1 {
                    total += Self.adjacencyPenalty
                }
            }
        }
        if dropped.contains(6) && dropped.contains(7) {
            total += Self.synergy
        }
        return total
    }

    func fitness(_ genome: DepthGenome, _ minibatch: Minibatch) -> Double {
        let scale = (512.0 / Double(minibatch.tokenCount)).squareRoot()
        return cost(genome) + noiseAmplitude * scale * FakeFitness.noise(genome, minibatch)
    }
}

/// Runs any batched search to the end with `fitness`, inserting values into each submission in the order that
/// `order` gives (identity by default).
@discardableResult
func runToEnd<Search: BatchedGenomeSearch>(
    _ search: inout Search, fitness: (DepthGenome, Minibatch) -> Double,
    order: (inout [Candidate]) -> Void = { _ in }
) throws -> [EvaluationBatch] {
    var batches: [EvaluationBatch] = []
    while let batch = search.nextBatch() {
        batches.append(batch)
        var candidates = batch.candidates
        order(&candidates)
        var values: [CandidateID: Double] = [:]
        for candidate in candidates {
            values[candidate.id] = fitness(candidate.genome, batch.minibatch)
        }
        try search.submit(batch: batch.index, fitness: values)
    }
    return batches
}

/// A pool of 65,536 tokens, enough for the paper schedule's 32,768-token stage.
let largePool = try! CalibrationPool(sequenceCount: 64, tokensPerSequence: 1024)  // !-safe: valid constants
