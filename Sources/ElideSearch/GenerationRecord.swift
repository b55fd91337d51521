/// Outcome of one selection stage or of the initial draw.
public struct StageRecord: Hashable, Codable, Sendable {
    /// Index of the batch in its search.
    public let batchIndex: Int
    public let candidateCount: Int
    /// Tokens of the stage's minibatch, fed once per candidate.
    public let tokensPerCandidate: Int
    public let bestFitness: Double
    public let medianFitness: Double
    /// Survivors from lowest fitness up.
    public let survivorIDs: [CandidateID]

    public init(
        batchIndex: Int, candidateCount: Int, tokensPerCandidate: Int, bestFitness: Double, medianFitness: Double,
        survivorIDs: [CandidateID]
    ) {
        self.batchIndex = batchIndex
        self.candidateCount = candidateCount
        self.tokensPerCandidate = tokensPerCandidate
        self.bestFitness = bestFitness
        self.medianFitness = medianFitness
        self.survivorIDs = survivorIDs
    }
}

/// Summary of one EvoPress generation, where generation 0 is the random initialisation.
public struct GenerationRecord: Hashable, Codable, Sendable {
    public let generation: Int
    /// Fitness of the best parent on the generation's last minibatch.
    ///
    /// Each generation scores on a fresh minibatch, so consecutive values can rise even though elitism keeps the
    /// parent unless an offspring beats it on the same tokens.
    public let bestFitness: Double
    /// Median fitness of the generation's first batch: all λ offspring, or all initial candidates in generation 0.
    public let medianFitness: Double
    /// Candidate evaluations in the generation, over all stages.
    public let evaluationCount: Int
    /// Candidate-tokens evaluated in the generation, Σ candidates × minibatch tokens over stages.
    public let tokenCount: Int
    /// The best parent after the generation.
    public let bestGenome: DepthGenome
    public let stages: [StageRecord]

    init(generation: Int, stages: [StageRecord], best: ScoredGenome) {
        self.generation = generation
        self.bestFitness = best.fitness
        self.medianFitness = stages[0].medianFitness
        self.evaluationCount = stages.reduce(0) { $0 + $1.candidateCount }
        self.tokenCount = stages.reduce(0) { $0 + $1.candidateCount * $1.tokensPerCandidate }
        self.bestGenome = best.genome
        self.stages = stages
    }
}
