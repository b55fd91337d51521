/// The random best-of-N baseline: N distinct uniformly random genomes scored on one minibatch, the lowest kept.
public struct RandomSampleSearch: BatchedGenomeSearch, Codable {
    /// EvoPress's comparison draws 32 random configurations.
    public static let defaultCandidateCount = 32

    public let space: DepthSearchSpace
    public let seed: UInt64
    private var selection: SingleBatchSelection

    /// Draws the candidates from stream (seed, random sample) and the minibatch of `tokens` tokens from
    /// (seed, random sample, 1).
    public init(
        space: DepthSearchSpace, candidateCount: Int = RandomSampleSearch.defaultCandidateCount, tokens: Int,
        calibration: CalibrationPool, seed: UInt64
    ) throws {
        guard candidateCount >= 1 else {
            throw SearchConfigurationError.invalidCandidateCount(candidateCount)
        }
        try calibration.checkCapacity(tokens: tokens, purpose: "random-sample")
        var genomeGenerator = SeedStream.randomSample.generator(seed: seed)
        let genomes = try space.distinctRandomGenomes(count: candidateCount, using: &genomeGenerator)
        var minibatchGenerator = SeedStream.randomSample.generator(seed: seed, 1)
        let minibatch = calibration.drawMinibatch(tokens: tokens, using: &minibatchGenerator)
        let candidates = genomes.enumerated().map { Candidate(id: $0.offset, genome: $0.element) }
        self.space = space
        self.seed = seed
        selection = SingleBatchSelection(
            batch: EvaluationBatch(
                index: 0, kind: .randomSample, generation: 0, stage: 0, candidates: candidates, minibatch: minibatch))
    }

    public func nextBatch() -> EvaluationBatch? { selection.pendingBatch }

    public mutating func submit(batch index: Int, fitness: [CandidateID: Double]) throws {
        try selection.submit(batch: index, fitness: fitness)
    }

    public var best: ScoredGenome? { selection.ranking.first }

    /// Every candidate from lowest fitness up, or empty until the batch is scored.
    public var ranking: [ScoredGenome] { selection.ranking }
}
