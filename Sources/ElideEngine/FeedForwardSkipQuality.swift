import ElideModels
import ElideTensor
import Foundation

/// Measures what FFN skipping costs in quality, against the dense model without any plan.
///
/// - Token agreement: dense greedy decoding continues each held-out prompt. Then the prompt plus that
///   continuation is teacher-forced under the measured configuration. The agreement is the fraction of
///   steps whose most likely token equals the dense continuation's next token, so the dense model scores
///   exactly 1.
/// - Perplexity: each held-out window is teacher-forced, its first `promptTokens` tokens as a prefill and
///   the rest one decode step at a time under the configuration, and every prediction from the prefill's
///   last position on is scored.
public struct FeedForwardSkipQuality {
    /// The outcome for one configuration.
    public struct Measurement: Sendable, Codable {
        /// Top-1 agreement with the dense continuation, 0...1.
        public var agreement: Double
        public var perplexity: Double
        /// Skipped and considered FFN blocks over all the decode steps of both measurements.
        public var skipCount: FeedForwardSkipCount
        public var agreementSteps: Int
        public var scoredTokens: Int
    }

    public let model: LlamaModel
    public let precision: ActivationPrecision
    public let pool: ThreadPool
    /// Prompts with their dense greedy continuations appended.
    public let agreementSequences: [[Int]]
    public let promptTokens: Int
    /// Held-out windows scored for perplexity.
    public let perplexityWindows: [[Int]]

    /// Generates the dense reference continuations of `prompts` (`continuationTokens` greedy tokens each).
    public init(
        model: LlamaModel, precision: ActivationPrecision, pool: ThreadPool, prompts: [[Int]],
        continuationTokens: Int, perplexityWindows: [[Int]], promptTokens: Int
    ) throws {
        guard !prompts.isEmpty, !perplexityWindows.isEmpty, continuationTokens >= 2 else {
            throw EvaluationError(
                "quality measurement needs at least one prompt, one perplexity window and 2 continuation tokens")
        }
        guard prompts.allSatisfy({ $0.count == promptTokens }),
            perplexityWindows.allSatisfy({ $0.count > promptTokens })
        else {
            throw EvaluationError(
                "every prompt must have \(promptTokens) tokens and every perplexity window more than that")
        }
        // !-safe: the guard above rejects an empty window list.
        let capacity = max(promptTokens + continuationTokens, perplexityWindows.map(\.count).max()!)
        let session = LlamaSession(model: model, capacity: capacity, precision: precision, pool: pool)
        let generator = TextGenerator(session: session)
        agreementSequences = prompts.map { prompt in
            var sampler = TokenSampler(temperature: 0, seed: 0)
            let result = generator.generate(prompt: prompt, maxTokens: continuationTokens, sampler: &sampler)
            return prompt + result.generatedTokens
        }
        self.model = model
        self.precision = precision
        self.pool = pool
        self.promptTokens = promptTokens
        self.perplexityWindows = perplexityWindows
    }

    /// Measures the model under `mask` (nil: no plan) with FFN skipping under `rule` (nil: none).
    public func measure(mask: SubBlockMask?, rule: FeedForwardSkipRule?) throws -> Measurement {
        let resolvedMask = mask ?? .dense(layers: model.configuration.blockCount)
        try rule?.validate(mask: resolvedMask)
        // !-safe: the initializer checked that both lists are non-empty.
        let capacity = max(agreementSequences.map(\.count).max()!, perplexityWindows.map(\.count).max()!)
        let session = LlamaSession(model: model, capacity: capacity, precision: precision, mask: mask, pool: pool)
        let decoding = TeacherForcedDecoding(session: session)
        var count = FeedForwardSkipCount()

        var agreed = 0
        var steps = 0
        for sequence in agreementSequences {
            count += decoding.run(tokens: sequence, promptTokens: promptTokens, rule: rule) { index, logits in
                steps += 1
                if TokenSampler.argmax(logits) == sequence[index] { agreed += 1 }
            }
        }

        var negativeLogLikelihood = 0.0
        var scored = 0
        for window in perplexityWindows {
            count += decoding.run(tokens: window, promptTokens: promptTokens, rule: rule) { index, logits in
                negativeLogLikelihood -= logProbability(of: window[index], logits: logits)
                scored += 1
            }
        }
        return Measurement(
            agreement: Double(agreed) / Double(steps), perplexity: exp(negativeLogLikelihood / Double(scored)),
            skipCount: count, agreementSteps: steps, scoredTokens: scored)
    }
}
