import ElideModels
import ElideSupport
import ElideTensor

/// Decode speed of several sequences at once, batched with either FFN strategy or decoded one after
/// another. The numbers go into the benchmark record, never into tests.
public struct BatchDecodeBenchmark {
    /// The way the sequences of one measurement are decoded.
    public enum Mode: Hashable, Sendable, CustomStringConvertible {
        /// One `LlamaSession.decode` step per sequence in turn, so each step reads the weights once per sequence.
        case sequential
        /// One `LlamaBatchDecoder` step for all sequences.
        case batched(LlamaBatchDecoder.FeedForwardStrategy)

        /// The name the command line uses: `sequential`, `masked` or `regrouped`.
        public var description: String {
            switch self {
            case .sequential: "sequential"
            case .batched(let strategy): strategy.rawValue
            }
        }

        /// Parses a name from `description`, or returns nil.
        public init?(name: String) {
            if name == "sequential" {
                self = .sequential
            } else if let strategy = LlamaBatchDecoder.FeedForwardStrategy(rawValue: name) {
                self = .batched(strategy)
            } else {
                return nil
            }
        }
    }

    /// The timed repetitions of one (batch size, mode) pair.
    public struct Measurement: Sendable {
        public var batchSize: Int
        public var mode: Mode
        /// Generated tokens per second summed over the sequences, one value per timed repetition.
        public var tokensPerSecond: [Double]
        /// Skipped and considered FFN blocks over the timed repetitions.
        public var skipCount: FeedForwardSkipCount
        /// FFN work of the timed repetitions; all zero in `.sequential` mode.
        public var statistics: LlamaBatchDecoder.Statistics
    }

    public let model: LlamaModel
    public let mask: SubBlockMask?
    public let precision: ActivationPrecision
    public let pool: ThreadPool
    /// The policy every sequence follows with its own state, or nil to run every FFN block.
    public let policy: FeedForwardSkipPolicy?
    /// Decode steps per sequence in one repetition.
    public let generatedTokens: Int
    /// Seed of the random first token of each sequence.
    public let seed: UInt64

    public init(
        model: LlamaModel, mask: SubBlockMask?, precision: ActivationPrecision, pool: ThreadPool,
        policy: FeedForwardSkipPolicy?, generatedTokens: Int, seed: UInt64
    ) {
        precondition(generatedTokens >= 1, "a decode benchmark needs at least one generated token")
        self.model = model
        self.mask = mask
        self.precision = precision
        self.pool = pool
        self.policy = policy
        self.generatedTokens = generatedTokens
        self.seed = seed
    }

    /// Runs one warm-up round and `repetitions` timed rounds. Every round measures each batch size in each
    /// mode once, in turn, so load from other processes falls on all of them alike.
    public func run(batchSizes: [Int], modes: [Mode], repetitions: Int) -> [Measurement] {
        precondition(batchSizes.allSatisfy { $0 >= 1 }, "batch sizes must be 1 or more, got \(batchSizes)")
        precondition(repetitions >= 1, "at least one timed repetition is needed")
        var measurements = batchSizes.flatMap { size in
            modes.map {
                Measurement(batchSize: size, mode: $0, tokensPerSecond: [], skipCount: .init(), statistics: .init())
            }
        }
        for repetition in 0...repetitions {
            for index in measurements.indices {
                let (rate, count, statistics) = measure(
                    batchSize: measurements[index].batchSize, mode: measurements[index].mode)
                guard repetition > 0 else { continue }
                measurements[index].tokensPerSecond.append(rate)
                measurements[index].skipCount += count
                measurements[index].statistics.add(statistics)
            }
        }
        return measurements
    }

    /// Decodes `batchSize` sequences from empty caches, each from its own random first token, with greedy
    /// choices, and returns the summed tokens per second.
    private func measure(
        batchSize: Int, mode: Mode
    ) -> (Double, FeedForwardSkipCount, LlamaBatchDecoder.Statistics) {
        let sessions = (0..<batchSize).map { _ in
            LlamaSession(model: model, capacity: generatedTokens, precision: precision, mask: mask, pool: pool)
        }
        // Decoding starts from an empty cache, so the first step produces generated token 0.
        var skippers = sessions.map { session in
            policy.map { FeedForwardSkipper(rule: .adaptive($0), mask: session.mask, firstTokenIndex: 0) }
        }
        // The same first tokens for every mode of one batch size.
        var generator = SeededGenerator(seed: seed &+ UInt64(batchSize))
        var tokens = (0..<batchSize).map { _ in Int(generator.next() % UInt64(model.configuration.vocabularySize)) }

        var statistics = LlamaBatchDecoder.Statistics()
        let start = MonotonicClock.now()
        switch mode {
        case .sequential:
            for _ in 0..<generatedTokens {
                for index in 0..<batchSize {
                    if skippers[index] != nil {
                        sessions[index].decode(tokens[index], skipper: &skippers[index]!) { logits in
                            tokens[index] = TokenSampler.argmax(logits)
                        }
                    } else {
                        sessions[index].forward(
                            [tokens[index]], logits: .last,
                            onLogits: { _, logits in tokens[index] = TokenSampler.argmax(logits) })
                    }
                }
            }
        case .batched(let strategy):
            let decoder = LlamaBatchDecoder(sessions: sessions, skippers: skippers, strategy: strategy)
            for _ in 0..<generatedTokens {
                decoder.decode(tokens.map { $0 }) { sequence, logits in tokens[sequence] = TokenSampler.argmax(logits) }
            }
            skippers = decoder.skippers
            statistics = decoder.statistics
        }
        let seconds = MonotonicClock.seconds(since: start)
        let count = skippers.reduce(FeedForwardSkipCount()) { $0 + ($1?.count ?? FeedForwardSkipCount()) }
        return (Double(batchSize * generatedTokens) / seconds, count, statistics)
    }
}
