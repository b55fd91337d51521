/// Scores every genome of a small space on one minibatch and ranks them, which gives the optimum that the
/// evolutionary search should reach on the same tokens.
public struct BruteForceSearch: BatchedGenomeSearch, Codable {
    public let space: DepthSearchSpace
    public let seed: UInt64
    private var selection: SingleBatchSelection

    /// Enumerates the space in lexicographic order and draws the minibatch of `tokens` tokens from stream
    /// (seed, brute force).
    ///
    /// - Throws: `SearchConfigurationError.enumerationLimitExceeded` when the space contains more than `limit` genomes.
    public init(
        space: DepthSearchSpace, tokens: Int, calibration: CalibrationPool, seed: UInt64,
        limit: Int = DepthSearchSpace.defaultEnumerationLimit
    ) throws {
        let genomes = try space.allGenomes(limit: limit)
        try calibration.checkCapacity(tokens: tokens, purpose: "brute-force")
        var generator = SeedStream.bruteForce.generator(seed: seed)
        let minibatch = calibration.drawMinibatch(tokens: tokens, using: &generator)
        let candidates = genomes.enumerated().map { Candidate(id: $0.offset, genome: $0.element) }
        self.space = space
        self.seed = seed
        selection = SingleBatchSelection(
            batch: EvaluationBatch(
                index: 0, kind: .bruteForce, generation: 0, stage: 0, candidates: candidates, minibatch: minibatch))
    }

    public func nextBatch() -> EvaluationBatch? { selection.pendingBatch }

    public mutating func submit(batch index: Int, fitness: [CandidateID: Double]) throws {
        try selection.submit(batch: index, fitness: fitness)
    }

    public var best: ScoredGenome? { selection.ranking.first }

    /// Every genome from lowest fitness up, with equal values in enumeration order. Empty until the batch is scored.
    public var ranking: [ScoredGenome] { selection.ranking }
}
