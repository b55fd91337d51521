/// Identifier of a candidate, unique within one search. A candidate that survives a stage keeps its id in later
/// stages, and a parent scored again in a last stage keeps the id it was created with.
public typealias CandidateID = Int

/// A genome to score, with the id its fitness is reported under.
public struct Candidate: Hashable, Codable, Sendable {
    public let id: CandidateID
    public let genome: DepthGenome

    public init(id: CandidateID, genome: DepthGenome) {
        self.id = id
        self.genome = genome
    }
}

/// A genome with the fitness it scored (lower is better).
public struct ScoredGenome: Hashable, Codable, Sendable {
    public let candidateID: CandidateID
    public let genome: DepthGenome
    public let fitness: Double

    public init(candidateID: CandidateID, genome: DepthGenome, fitness: Double) {
        self.candidateID = candidateID
        self.genome = genome
        self.fitness = fitness
    }
}

/// Candidates that a search needs scored on one shared minibatch before it can go on.
///
/// The driver evaluates each candidate's fitness on `minibatch`, in any order and on any worker, and submits all
/// of them at once with `batch: index`.
public struct EvaluationBatch: Hashable, Codable, Sendable {
    /// Origin of a batch.
    public enum Kind: String, Hashable, Codable, Sendable {
        /// EvoPress's random initial candidates (generation 0).
        case initialization
        /// One selection stage of an EvoPress generation.
        case selection
        /// The random best-of-N baseline.
        case randomSample = "random-sample"
        /// Every genome of a small space.
        case bruteForce = "brute-force"
    }

    /// Position of the batch in its search, from 0, which `submit(batch:fitness:)` names.
    public let index: Int
    public let kind: Kind
    /// Generation from 1 for `.selection`, and 0 for the other kinds.
    public let generation: Int
    /// Stage index within the schedule, from 0, for `.selection`, and 0 for the other kinds.
    public let stage: Int
    public let candidates: [Candidate]
    public let minibatch: Minibatch

    public init(
        index: Int, kind: Kind, generation: Int, stage: Int, candidates: [Candidate], minibatch: Minibatch
    ) {
        self.index = index
        self.kind = kind
        self.generation = generation
        self.stage = stage
        self.candidates = candidates
        self.minibatch = minibatch
    }

    /// Candidate-tokens this batch costs: candidates × minibatch tokens.
    public var tokenCount: Int { candidates.count * minibatch.tokenCount }
}

/// A search that requests fitness values batch by batch: EvoPress, random best-of-N and brute force.
///
/// The search is a deterministic value: its batches and result depend only on its configuration, its seed and the
/// fitness values submitted, never on the order in which candidates were evaluated.
public protocol BatchedGenomeSearch: Sendable {
    /// Returns the batch to score next, or nil once the search has finished. The same batch comes back until its
    /// fitness values are submitted.
    func nextBatch() -> EvaluationBatch?

    /// Accepts the fitness of every candidate of the pending batch, keyed by candidate id, and moves on.
    ///
    /// Nothing changes when it throws.
    mutating func submit(batch index: Int, fitness: [CandidateID: Double]) throws

    /// Whether every batch has been scored.
    var isFinished: Bool { get }

    /// The current best genome and the fitness it last scored, or nil before the first result.
    var best: ScoredGenome? { get }
}

extension BatchedGenomeSearch {
    public var isFinished: Bool { nextBatch() == nil }
}

// MARK: - Submission checks

/// Checks of one submission against the pending batch, shared by the searches.
enum FitnessSubmission {
    /// Returns the fitness of each candidate in batch order after checking that the submission names the pending
    /// batch and contains exactly its candidates, each with a finite value.
    static func values(
        for pending: EvaluationBatch?, submittedBatch index: Int, fitness: [CandidateID: Double]
    ) throws -> [Double] {
        guard let pending else {
            throw SearchProgressError.searchFinished(submittedBatch: index)
        }
        guard index == pending.index else {
            throw SearchProgressError.unexpectedBatch(submitted: index, pending: pending.index)
        }
        let expected = Set(pending.candidates.map(\.id))
        let missing = pending.candidates.map(\.id).filter { fitness[$0] == nil }
        guard missing.isEmpty else {
            throw SearchProgressError.missingFitness(batch: index, candidateIDs: missing)
        }
        let unknown = fitness.keys.filter { !expected.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw SearchProgressError.unknownCandidates(batch: index, candidateIDs: unknown)
        }
        return try pending.candidates.map { candidate in
            // !-safe: `missing` is empty, so every candidate has a value.
            let value = fitness[candidate.id]!
            guard value.isFinite else {
                throw SearchProgressError.nonFiniteFitness(batch: index, candidateID: candidate.id, value: value)
            }
            return value
        }
    }

    /// Returns the indices of `values` from lowest to highest value, with equal values in batch order.
    static func ranking(_ values: [Double]) -> [Int] {
        values.indices.sorted { left, right in
            values[left] != values[right] ? values[left] < values[right] : left < right
        }
    }

    /// Median of `values`: the middle one, or the mean of the two middle ones for an even count.
    static func median(_ values: [Double]) -> Double {
        precondition(!values.isEmpty, "the median of no values is undefined")
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
