/// One sequence's contribution to a candidate's fitness: the KL divergence summed over its scored positions.
public struct SequenceDivergence: Hashable, Codable, Sendable {
    public let sequenceID: Int
    /// Σ over scored positions t of KL(p_t ‖ q_t), dense model p, candidate q, in nats.
    public let divergenceSum: Double
    /// Scored positions: a slice of L tokens usually scores L − 1, because the last position predicts nothing.
    public let tokenCount: Int

    public init(sequenceID: Int, divergenceSum: Double, tokenCount: Int) {
        self.sequenceID = sequenceID
        self.divergenceSum = divergenceSum
        self.tokenCount = tokenCount
    }
}

/// Per-sequence divergences of one candidate, merged exactly: the token-weighted mean Σ sums / Σ tokens.
///
/// Parts are kept sorted by sequence id and summed in that order, so the mean is bit-identical whichever worker
/// returned which sequence, and in whatever order they arrived.
public struct FitnessAggregate: Hashable, Codable, Sendable {
    /// Parts ascending by sequence id, each id once.
    public private(set) var parts: [SequenceDivergence] = []

    public init() {}

    /// Creates an aggregate from parts in any order.
    public init(_ parts: [SequenceDivergence]) throws {
        for part in parts {
            try add(part)
        }
    }

    /// Adds one sequence's part.
    ///
    /// - Throws: `FitnessAggregateError` when the sequence is already present, the token count is negative or
    ///   the sum is not finite.
    public mutating func add(_ part: SequenceDivergence) throws {
        guard part.tokenCount >= 0 else {
            throw FitnessAggregateError.invalidTokenCount(sequenceID: part.sequenceID, tokenCount: part.tokenCount)
        }
        guard part.divergenceSum.isFinite else {
            throw FitnessAggregateError.nonFiniteDivergence(sequenceID: part.sequenceID, value: part.divergenceSum)
        }
        let position = insertionPosition(of: part.sequenceID)
        guard position == parts.count || parts[position].sequenceID != part.sequenceID else {
            throw FitnessAggregateError.duplicateSequence(part.sequenceID)
        }
        parts.insert(part, at: position)
    }

    /// Adds every part of `other`, for example the sequences another worker scored.
    public mutating func merge(_ other: FitnessAggregate) throws {
        for part in other.parts {
            try add(part)
        }
    }

    /// Scored positions over all parts.
    public var tokenCount: Int { parts.reduce(0) { $0 + $1.tokenCount } }

    /// Computes the token-weighted mean divergence per position, summing in ascending sequence id order.
    ///
    /// - Throws: `FitnessAggregateError.noTokens` when no part scored a position.
    public func mean() throws -> Double {
        let tokens = tokenCount
        guard tokens > 0 else {
            throw FitnessAggregateError.noTokens(sequenceCount: parts.count)
        }
        let sum = parts.reduce(0.0) { $0 + $1.divergenceSum }
        return sum / Double(tokens)
    }

    /// Checks that the parts cover exactly the minibatch's sequences and score no more positions than were fed.
    public func validate(covering minibatch: Minibatch) throws {
        let fed = Dictionary(minibatch.sequences.map { ($0.sequenceID, $0.tokenCount) }, uniquingKeysWith: max)
        let present = Set(parts.map(\.sequenceID))
        let missing = fed.keys.filter { !present.contains($0) }.sorted()
        let unexpected = parts.map(\.sequenceID).filter { fed[$0] == nil }
        guard missing.isEmpty && unexpected.isEmpty else {
            throw FitnessAggregateError.sequenceMismatch(missing: missing, unexpected: unexpected)
        }
        for part in parts where part.tokenCount > fed[part.sequenceID] ?? 0 {
            throw FitnessAggregateError.tooManyTokens(
                sequenceID: part.sequenceID, scored: part.tokenCount, fed: fed[part.sequenceID] ?? 0)
        }
    }

    /// Position of the first part whose id is not below `sequenceID`.
    private func insertionPosition(of sequenceID: Int) -> Int {
        var low = 0
        var high = parts.count
        while low < high {
            let middle = (low + high) / 2
            if parts[middle].sequenceID < sequenceID {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }
}

/// Per-sequence divergences that cannot be merged into a fitness value.
public enum FitnessAggregateError: Error, Hashable, Sendable {
    /// The same sequence reported twice.
    case duplicateSequence(Int)
    /// A negative scored-position count.
    case invalidTokenCount(sequenceID: Int, tokenCount: Int)
    /// A NaN or infinite divergence sum.
    case nonFiniteDivergence(sequenceID: Int, value: Double)
    /// Parts that together score no position.
    case noTokens(sequenceCount: Int)
    /// Parts that do not match the minibatch's sequences.
    case sequenceMismatch(missing: [Int], unexpected: [Int])
    /// A part that scores more positions than its slice fed.
    case tooManyTokens(sequenceID: Int, scored: Int, fed: Int)
}

extension FitnessAggregateError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .duplicateSequence(let id):
            return "Sequence \(id) was reported twice for one candidate. Keep one result per sequence, for example "
                + "by dropping a retried task's late duplicate."
        case .invalidTokenCount(let id, let count):
            return "Sequence \(id) reports \(count) scored positions. The count must be zero or more."
        case .nonFiniteDivergence(let id, let value):
            return "Sequence \(id) reports a KL sum of \(value). Check the candidate's logits on that sequence."
        case .noTokens(let count):
            return "The \(count) reported sequences score no position, so the mean is undefined. Score slices of "
                + "at least two tokens."
        case .sequenceMismatch(let missing, let unexpected):
            return "Reported sequences do not match the minibatch (missing \(missing), unexpected \(unexpected)). "
                + "Score exactly the minibatch's sequences."
        case .tooManyTokens(let id, let scored, let fed):
            return "Sequence \(id) reports \(scored) scored positions but its slice fed only \(fed) tokens. Count "
                + "the positions the KL sum covers."
        }
    }
}
