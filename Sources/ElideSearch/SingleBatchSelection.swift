/// The state shared by searches that score one batch and rank it: random best-of-N and brute force.
struct SingleBatchSelection: Hashable, Codable, Sendable {
    private(set) var pendingBatch: EvaluationBatch?
    /// Every candidate from lowest fitness up, or empty until the batch is scored.
    private(set) var ranking: [ScoredGenome] = []

    init(batch: EvaluationBatch) {
        pendingBatch = batch
    }

    mutating func submit(batch index: Int, fitness: [CandidateID: Double]) throws {
        let values = try FitnessSubmission.values(for: pendingBatch, submittedBatch: index, fitness: fitness)
        // !-safe: `values(for:…)` throws when no batch is pending.
        let candidates = pendingBatch!.candidates
        ranking = FitnessSubmission.ranking(values).map { position in
            ScoredGenome(
                candidateID: candidates[position].id, genome: candidates[position].genome, fitness: values[position])
        }
        pendingBatch = nil
    }
}
