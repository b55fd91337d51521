import ElideModels
import ElideSupport
import ElideTensor

/// Throughput of candidate evaluation against the dense model's, on the same tokens and threads.
public struct EvaluationThroughput: Sendable, Codable, Equatable {
    /// Tokens per timed pass: sequences × tokens per sequence.
    public var tokens: Int
    public var threads: Int
    public var precision: String
    public var teacher: String
    public var stateStorage: String
    /// Fraction of the candidate's sub-blocks that run.
    public var keptSubBlockFraction: Double
    /// `evaluate` with every dense reference already cached, counting all tokens of each sequence.
    public var candidateTokensPerSecond: Double
    /// Dense forward passes with the logits of the last row only, like llama-bench's prompt processing.
    public var densePrefillTokensPerSecond: Double
    /// Dense forward passes with the logits of every row, the work a perplexity run does.
    public var denseAllLogitsTokensPerSecond: Double
    /// Dense reference builds (dense pass, boundary states and teacher), measured on first use.
    public var cacheBuildTokensPerSecond: Double

    /// 0.8 × dense prefill ÷ kept fraction: what the cached evaluation should at least reach.
    public var targetTokensPerSecond: Double { 0.8 * densePrefillTokensPerSecond / keptSubBlockFraction }
}

/// Measures `EvaluationThroughput`; the numbers go into the benchmark record, never into tests.
public enum CandidateEvaluationBenchmark {
    /// Times `repetitions` rounds of one evaluation of `mask` and one dense pass of each kind over the
    /// same sequences, after a warm-up evaluation that fills the cache, and returns the best rate of each.
    ///
    /// The three measurements alternate within a round, so load from other processes falls on all of them,
    /// and the fastest round is the one least disturbed by it.
    public static func measure(
        evaluator: CandidateEvaluator, mask: SubBlockMask, sequenceIDs: [Int], tokensPerSequence: Int,
        repetitions: Int = 3
    ) throws -> EvaluationThroughput {
        precondition(repetitions >= 1, "at least one timed repetition is needed")
        let tokens = sequenceIDs.count * tokensPerSequence
        let settings = evaluator.settings

        let buildsBefore = evaluator.cache.statistics
        _ = try evaluator.evaluate(mask: mask, sequenceIDs: sequenceIDs, tokensPerSequence: tokensPerSequence)
        let buildsAfter = evaluator.cache.statistics
        let builtTokens = (buildsAfter.misses - buildsBefore.misses) * evaluator.calibration.sequenceLength
        let buildSeconds = buildsAfter.buildSeconds - buildsBefore.buildSeconds

        let session = LlamaSession(
            model: evaluator.model, capacity: tokensPerSequence,
            batchCapacity: min(settings.batchCapacity, tokensPerSequence), precision: settings.precision,
            pool: evaluator.pool)
        let inputs = try sequenceIDs.map { Array(try evaluator.calibration.tokens(of: $0, count: tokensPerSequence)) }
        func runDense(_ request: LogitRequest) {
            for input in inputs {
                session.reset()
                session.forward(input, logits: request)
            }
        }

        var candidateSeconds = Double.infinity
        var prefillSeconds = Double.infinity
        var allLogitsSeconds = Double.infinity
        for _ in 0..<repetitions {
            candidateSeconds = min(
                candidateSeconds,
                try seconds {
                    _ = try evaluator.evaluate(
                        mask: mask, sequenceIDs: sequenceIDs, tokensPerSequence: tokensPerSequence)
                })
            prefillSeconds = min(prefillSeconds, seconds { runDense(.last) })
            allLogitsSeconds = min(allLogitsSeconds, seconds { runDense(.all) })
        }

        let layers = Double(2 * mask.layerCount)
        return EvaluationThroughput(
            tokens: tokens, threads: evaluator.pool.threads, precision: settings.precision.rawValue,
            teacher: settings.teacher.description, stateStorage: settings.stateStorage.rawValue,
            keptSubBlockFraction: (layers - Double(mask.droppedCount)) / layers,
            candidateTokensPerSecond: Double(tokens) / candidateSeconds,
            densePrefillTokensPerSecond: Double(tokens) / prefillSeconds,
            denseAllLogitsTokensPerSecond: Double(tokens) / allLogitsSeconds,
            cacheBuildTokensPerSecond: buildSeconds > 0 ? Double(builtTokens) / buildSeconds : 0)
    }

    /// Returns the wall time of one run of `body`.
    private static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = MonotonicClock.now()
        try body()
        return MonotonicClock.seconds(since: start)
    }
}
