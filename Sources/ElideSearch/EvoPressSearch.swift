/// EvoPress's (μ + λ) evolutionary depth search with multi-stage selection, as a state machine.
///
/// It follows the depth search of EvoPress's reference code (`evo_drop_search.py`, IST-DASLab/EvoPress):
///
/// 1. Initialisation scores `initialCandidateCount` distinct random genomes on one minibatch and keeps the best
///    `parentCount` (usually 1) as parents. Seed genomes given by the caller, such as the plans of cheaper
///    baselines, join that batch ahead of the random ones. Without them the search is the reference's.
/// 2. Each generation mutates uniformly chosen parents into λ distinct offspring (`LevelSwitchMutation`).
/// 3. Each stage scores its candidates on one shared minibatch and keeps the lowest-fitness `survivors`. The last
///    stage adds the parents and scores them again on its own minibatch (elitism), and its survivors become the
///    next parents.
///
/// Ties keep batch order: offspring in creation order, then parents, and in later stages the previous stage's
/// ranking. So an offspring that ties its parent replaces it, which lets the search cross plateaus.
///
/// Every random draw comes from the seed: the offspring of generation g from stream (seed, offspring, g) and the
/// minibatch of generation g, stage s from (seed, minibatch, g, s), with initialisation as generation 0, stage 0.
/// The value is `Codable`, so a driver can journal it, or rebuild it by replaying the submitted fitness values.
public struct EvoPressSearch: BatchedGenomeSearch, Codable {
    public let configuration: EvoPressConfiguration
    public let seed: UInt64
    /// One record per finished generation, starting with initialisation as generation 0.
    public private(set) var history: [GenerationRecord] = []
    /// Current parents from lowest fitness up, with the fitness each scored on its last minibatch.
    public private(set) var parents: [ScoredGenome] = []

    private var pendingBatch: EvaluationBatch?
    /// Stages finished so far in the generation in progress.
    private var finishedStages: [StageRecord] = []
    private var nextCandidateID: CandidateID = 0
    private var nextBatchIndex = 0

    /// Draws the initial candidates and prepares the first batch.
    ///
    /// `seedGenomes` are scored at initialisation ahead of the random genomes. The random genomes are the
    /// same as without seeds, and one equal to a seed is scored once. Each seed must belong to the space.
    public init(configuration: EvoPressConfiguration, seed: UInt64, seedGenomes: [DepthGenome] = []) throws {
        self.configuration = configuration
        self.seed = seed
        var seeds: [DepthGenome] = []
        for genome in seedGenomes where !seeds.contains(genome) {
            try configuration.space.validate(genome)
            seeds.append(genome)
        }
        var generator = SeedStream.initialCandidates.generator(seed: seed)
        let random = try configuration.space.distinctRandomGenomes(
            count: configuration.schedule.initialCandidateCount, using: &generator)
        let genomes = seeds + random.filter { !seeds.contains($0) }
        pendingBatch = makeBatch(
            kind: .initialization, generation: 0, stage: 0, candidates: makeCandidates(genomes),
            tokens: configuration.schedule.initialTokens)
    }

    public func nextBatch() -> EvaluationBatch? { pendingBatch }

    /// The best current parent, or nil before initialisation is scored.
    public var best: ScoredGenome? { parents.first }

    /// Generations finished after initialisation, from 0 to `configuration.generationCount`.
    public var finishedGenerationCount: Int { max(0, history.count - 1) }

    public mutating func submit(batch index: Int, fitness: [CandidateID: Double]) throws {
        let values = try FitnessSubmission.values(for: pendingBatch, submittedBatch: index, fitness: fitness)
        // !-safe: `values(for:…)` throws when no batch is pending.
        let batch = pendingBatch!
        // Work on a copy so the search stays unchanged if the next generation cannot be built.
        var updated = self
        try updated.advance(after: batch, fitness: values)
        self = updated
    }

    // MARK: - Transitions

    private mutating func advance(after batch: EvaluationBatch, fitness values: [Double]) throws {
        let schedule = configuration.schedule
        let isInitialization = batch.kind == .initialization
        let survivorCount = isInitialization ? schedule.parentCount : schedule.stages[batch.stage].survivors
        let survivors = FitnessSubmission.ranking(values).prefix(survivorCount).map { position in
            let candidate = batch.candidates[position]
            return ScoredGenome(candidateID: candidate.id, genome: candidate.genome, fitness: values[position])
        }
        finishedStages.append(
            StageRecord(
                batchIndex: batch.index, candidateCount: batch.candidates.count,
                tokensPerCandidate: batch.minibatch.tokenCount, bestFitness: survivors[0].fitness,
                medianFitness: FitnessSubmission.median(values), survivorIDs: survivors.map(\.candidateID)))

        let isLastStage = isInitialization || batch.stage == schedule.stages.count - 1
        guard isLastStage else {
            let nextStage = batch.stage + 1
            var candidates = survivors.map { Candidate(id: $0.candidateID, genome: $0.genome) }
            if nextStage == schedule.stages.count - 1 {
                candidates += parentCandidates
            }
            pendingBatch = makeBatch(
                kind: .selection, generation: batch.generation, stage: nextStage, candidates: candidates,
                tokens: schedule.stages[nextStage].tokens)
            return
        }

        parents = Array(survivors)
        history.append(GenerationRecord(generation: batch.generation, stages: finishedStages, best: survivors[0]))
        finishedStages = []
        try startGeneration(batch.generation + 1)
    }

    private mutating func startGeneration(_ generation: Int) throws {
        guard generation <= configuration.generationCount else {
            pendingBatch = nil
            return
        }
        let schedule = configuration.schedule
        var generator = SeedStream.offspring.generator(seed: seed, generation)
        let genomes = try LevelSwitchMutation.offspring(
            of: parents.map(\.genome), count: schedule.offspringCount, in: configuration.space,
            generation: generation, using: &generator)
        var candidates = makeCandidates(genomes)
        if schedule.stages.count == 1 {
            candidates += parentCandidates
        }
        pendingBatch = makeBatch(
            kind: .selection, generation: generation, stage: 0, candidates: candidates,
            tokens: schedule.stages[0].tokens)
    }

    private var parentCandidates: [Candidate] {
        parents.map { Candidate(id: $0.candidateID, genome: $0.genome) }
    }

    private mutating func makeCandidates(_ genomes: [DepthGenome]) -> [Candidate] {
        genomes.map { genome in
            defer { nextCandidateID += 1 }
            return Candidate(id: nextCandidateID, genome: genome)
        }
    }

    private mutating func makeBatch(
        kind: EvaluationBatch.Kind, generation: Int, stage: Int, candidates: [Candidate], tokens: Int
    ) -> EvaluationBatch {
        var generator = SeedStream.minibatch.generator(seed: seed, generation, stage)
        let minibatch = configuration.calibration.drawMinibatch(tokens: tokens, using: &generator)
        defer { nextBatchIndex += 1 }
        return EvaluationBatch(
            index: nextBatchIndex, kind: kind, generation: generation, stage: stage, candidates: candidates,
            minibatch: minibatch)
    }
}
