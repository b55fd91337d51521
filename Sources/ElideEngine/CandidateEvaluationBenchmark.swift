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
    /// Times `repetitions` evaluations of `mask` (after a warm-up that fills the cache) and as many
    /// dense passes over the same sequences, and returns the median rates.
    public static func measure(
        evaluator: CandidateEvaluator, mask: SubBlockMask, sequenceIDs: [Int], tokensPerSequence: Int,
        repetitions: Int = 3
    ) throws -> EvaluationThroughput {
        precondition(repetitions >= 1, "at least one timed repetition is needed")
        let tokens = sequenceIDs.count * tokensPerSequence
        let model = evaluator.model
        let settings = evaluator.settings

        let buildsBefore = evaluator.cache.statistics
        _ = try evaluator.evaluate(mask: mask, sequenceIDs: sequenceIDs, tokensPerSequence: tokensPerSequence)
        let buildsAfter = evaluator.cache.statistics
        let builtTokens = (buildsAfter.misses - buildsBefore.misses) * evaluator.calibration.sequenceLength
        let buildSeconds = buildsAfter.buildSeconds - buildsBefore.buildSeconds

        let candidateSeconds = try median(repetitions) {
            _ = try evaluator.evaluate(mask: mask, sequenceIDs: sequenceIDs, tokensPerSequence: tokensPerSequence)
        }
        let session = LlamaSession(
            model: model, capacity: tokensPerSequence,
            batchCapacity: min(settings.batchCapacity, tokensPerSequence), precision: settings.precision,
            pool: evaluator.pool)
        let inputs = try sequenceIDs.map { Array(try evaluator.calibration.tokens(of: $0, count: tokensPerSequence)) }
        func denseSeconds(_ request: LogitRequest) throws -> Double {
            try median(repetitions) {
                for input in inputs {
                    session.reset()
                    session.forward(input, logits: request)
                }
            }
        }
        let prefillSeconds = try denseSeconds(.last)
        let allLogitsSeconds = try denseSeconds(.all)

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

    /// Returns the median wall time of `count` runs of `body`.
    private static func median(_ count: Int, _ body: () throws -> Void) throws -> Double {
        var seconds: [Double] = []
        for _ in 0..<count {
            let start = MonotonicClock.now()
            try body()
            seconds.append(MonotonicClock.seconds(since: start))
        }
        return seconds.sorted()[count / 2]
    }
}
