import ElideSupport

/// The calibration sequences a search draws its minibatches from: `sequenceCount` sequences of
/// `tokensPerSequence` tokens each, numbered from 0.
///
/// The driver cuts the calibration text into equal sequences and leaves out a shorter tail, so every id names a
/// full sequence.
public struct CalibrationPool: Hashable, Codable, Sendable {
    public let sequenceCount: Int
    public let tokensPerSequence: Int

    public init(sequenceCount: Int, tokensPerSequence: Int) throws {
        guard sequenceCount >= 1 && tokensPerSequence >= 1 else {
            throw SearchConfigurationError.invalidCalibrationPool(
                sequenceCount: sequenceCount, tokensPerSequence: tokensPerSequence)
        }
        self.sequenceCount = sequenceCount
        self.tokensPerSequence = tokensPerSequence
    }

    /// Tokens in the whole pool.
    public var tokenCount: Int { sequenceCount * tokensPerSequence }

    /// Checks that a minibatch of `tokens` tokens fits in the pool. `purpose` names the stage in the error.
    func checkCapacity(tokens: Int, purpose: String) throws {
        guard tokens <= tokenCount else {
            throw SearchConfigurationError.calibrationPoolTooSmall(
                purpose: purpose, tokens: tokens, sequenceCount: sequenceCount, tokensPerSequence: tokensPerSequence)
        }
    }

    /// Draws ⌈tokens / tokensPerSequence⌉ distinct sequences and cuts the last one drawn so the total is `tokens`.
    ///
    /// Sequences appear in draw order, as in EvoPress's reference code.
    func drawMinibatch(tokens: Int, using generator: inout SeededGenerator) -> Minibatch {
        precondition(tokens >= 1 && tokens <= tokenCount, "minibatch of \(tokens) tokens does not fit the pool")
        let count = (tokens + tokensPerSequence - 1) / tokensPerSequence
        let ids = generator.sampleWithoutReplacement(count: count, from: sequenceCount)
        let slices = ids.enumerated().map { position, id in
            let isLast = position == count - 1
            let length = isLast ? tokens - (count - 1) * tokensPerSequence : tokensPerSequence
            return Minibatch.Slice(sequenceID: id, tokenCount: length)
        }
        return Minibatch(sequences: slices)
    }
}

/// The calibration tokens that score every candidate of one batch.
public struct Minibatch: Hashable, Codable, Sendable {
    /// The first `tokenCount` tokens of calibration sequence `sequenceID`.
    public struct Slice: Hashable, Codable, Sendable {
        public let sequenceID: Int
        public let tokenCount: Int

        public init(sequenceID: Int, tokenCount: Int) {
            self.sequenceID = sequenceID
            self.tokenCount = tokenCount
        }
    }

    /// Slices of distinct sequences.
    public let sequences: [Slice]

    public init(sequences: [Slice]) {
        self.sequences = sequences
    }

    /// Tokens fed to the model for one candidate, summed over slices.
    public var tokenCount: Int { sequences.reduce(0) { $0 + $1.tokenCount } }
}
