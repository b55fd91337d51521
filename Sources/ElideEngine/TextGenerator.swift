import ElideModels
import ElideSupport
import ElideTensor
import Foundation

/// Picks the next token from logits: greedy at temperature 0, otherwise sampling from
/// softmax(logits / temperature) restricted to the `topK` most likely tokens.
public struct TokenSampler: Sendable {
    public var temperature: Float
    public var topK: Int
    private var generator: SeededGenerator

    public init(temperature: Float, topK: Int = 40, seed: UInt64) {
        self.temperature = temperature
        self.topK = topK
        self.generator = SeededGenerator(seed: seed)
    }

    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int {
        if temperature <= 0 {
            return Self.argmax(logits)
        }
        // Candidates: the topK largest logits, highest first; ties broken by the lower token id.
        let count = min(max(topK, 1), logits.count)
        var candidates: [(id: Int, logit: Float)] = []
        candidates.reserveCapacity(count + 1)
        for (id, logit) in logits.enumerated() {
            if candidates.count == count, let last = candidates.last, logit <= last.logit { continue }
            let position = candidates.firstIndex { logit > $0.logit } ?? candidates.count
            candidates.insert((id, logit), at: position)
            if candidates.count > count { candidates.removeLast() }
        }
        let maximum = candidates[0].logit
        let weights = candidates.map { Double(exp(($0.logit - maximum) / temperature)) }
        let total = weights.reduce(0, +)
        var threshold = Double(generator.nextUnitFloat()) * total
        for (index, weight) in weights.enumerated() {
            threshold -= weight
            if threshold < 0 { return candidates[index].id }
        }
        return candidates[candidates.count - 1].id
    }

    /// Index of the largest logit; the lowest index wins a tie, as in llama.cpp's greedy sampler.
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for index in 1..<logits.count where logits[index] > logits[best] {
            best = index
        }
        return best
    }
}

/// Timings and tokens of one generation.
public struct GenerationResult: Sendable {
    public var promptTokens: [Int]
    public var generatedTokens: [Int]
    public var prefillSeconds: Double
    public var decodeSeconds: Double
    public var stoppedAtEndOfSequence: Bool
    /// The layers whose FFN block was skipped by the decode step that produced each generated token. The
    /// list is empty for token 0 (from the prefill), for warm-up tokens, and for every token without a skip rule.
    public var skippedFeedForward: [[Int]] = []
    /// Skipped and considered FFN blocks over the generated tokens (see `FeedForwardSkipCount`).
    public var feedForwardSkipCount = FeedForwardSkipCount()

    /// Skipped FFN blocks over the kept FFN blocks of the decode steps after the warm-up.
    public var feedForwardSkipRatio: Double { feedForwardSkipCount.ratio }

    public var prefillTokensPerSecond: Double { Double(promptTokens.count) / max(prefillSeconds, 1e-9) }
    /// Decode speed over the tokens produced after the first one, which comes from the prefill's logits.
    public var decodeTokensPerSecond: Double {
        Double(max(generatedTokens.count - 1, 0)) / max(decodeSeconds, 1e-9)
    }
}

/// Autoregressive generation on one session: prefill the prompt, then decode one token at a time.
public struct TextGenerator {
    public let session: LlamaSession

    public init(session: LlamaSession) {
        self.session = session
    }

    /// Generates up to `maxTokens` tokens after `prompt`, stopping early at any id in `stopTokens`
    /// (which is not included in the result). `onToken` sees each token as it is produced.
    ///
    /// With a `skipPolicy`, decode steps skip FFN blocks as FFN-SkipLLM does (see `FeedForwardSkipPolicy`);
    /// with none, every block runs and the output is the same as before skipping existed.
    public func generate(
        prompt: [Int], maxTokens: Int, sampler: inout TokenSampler, stopTokens: Set<Int> = [],
        skipPolicy: FeedForwardSkipPolicy? = nil, onToken: (Int) -> Void = { _ in }
    ) -> GenerationResult {
        if let skipPolicy {
            return generate(
                prompt: prompt, maxTokens: maxTokens, sampler: &sampler, stopTokens: stopTokens,
                skipRule: .adaptive(skipPolicy), onToken: onToken)
        }
        precondition(!prompt.isEmpty, "the prompt must contain at least one token")
        session.reset()
        var generated: [Int] = []
        var next = 0
        let prefillStart = MonotonicClock.now()
        session.forward(prompt, logits: .last, onLogits: { _, logits in next = sampler.sample(logits) })
        let prefillSeconds = MonotonicClock.seconds(since: prefillStart)

        let decodeStart = MonotonicClock.now()
        var stopped = false
        while generated.count < maxTokens {
            if stopTokens.contains(next) {
                stopped = true
                break
            }
            generated.append(next)
            onToken(next)
            if generated.count == maxTokens || session.position >= session.capacity { break }
            session.forward([next], logits: .last, onLogits: { _, logits in next = sampler.sample(logits) })
        }
        return GenerationResult(
            promptTokens: prompt, generatedTokens: generated, prefillSeconds: prefillSeconds,
            decodeSeconds: MonotonicClock.seconds(since: decodeStart), stoppedAtEndOfSequence: stopped,
            skippedFeedForward: Array(repeating: [], count: generated.count))
    }

    /// Generates as `generate(prompt:maxTokens:sampler:stopTokens:skipPolicy:onToken:)` does, with decode
    /// steps skipping FFN blocks under `skipRule` (adaptive, or the random baseline). The rule must be valid
    /// for the session's mask (`FeedForwardSkipRule.validate(mask:)`).
    public func generate(
        prompt: [Int], maxTokens: Int, sampler: inout TokenSampler, stopTokens: Set<Int> = [],
        skipRule: FeedForwardSkipRule, onToken: (Int) -> Void = { _ in }
    ) -> GenerationResult {
        precondition(!prompt.isEmpty, "the prompt must contain at least one token")
        session.reset()
        var generated: [Int] = []
        var skipped: [[Int]] = []
        var count = FeedForwardSkipCount()
        var skipper = FeedForwardSkipper(rule: skipRule, mask: session.mask, firstTokenIndex: 1)
        var next = 0
        var nextSkipped: [Int] = []
        let prefillStart = MonotonicClock.now()
        session.forward(prompt, logits: .last, onLogits: { _, logits in next = sampler.sample(logits) })
        let prefillSeconds = MonotonicClock.seconds(since: prefillStart)

        let decodeStart = MonotonicClock.now()
        var stopped = false
        while generated.count < maxTokens {
            if stopTokens.contains(next) {
                stopped = true
                break
            }
            generated.append(next)
            skipped.append(nextSkipped)
            onToken(next)
            if generated.count == maxTokens || session.position >= session.capacity { break }

            // The step that consumes `next` produces the following token, so its skips belong to that token.
            // They count only if the token is kept, which a stop token is not.
            let before = skipper.count
            nextSkipped = session.decode(next, skipper: &skipper) { logits in next = sampler.sample(logits) }
            let step = FeedForwardSkipCount(
                skipped: skipper.count.skipped - before.skipped,
                considered: skipper.count.considered - before.considered)
            if !stopTokens.contains(next) { count += step }
        }
        return GenerationResult(
            promptTokens: prompt, generatedTokens: generated, prefillSeconds: prefillSeconds,
            decodeSeconds: MonotonicClock.seconds(since: decodeStart), stoppedAtEndOfSequence: stopped,
            skippedFeedForward: skipped, feedForwardSkipCount: count)
    }
}
