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
    public func generate(
        prompt: [Int], maxTokens: Int, sampler: inout TokenSampler, stopTokens: Set<Int> = [],
        onToken: (Int) -> Void = { _ in }
    ) -> GenerationResult {
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
            decodeSeconds: MonotonicClock.seconds(since: decodeStart), stoppedAtEndOfSequence: stopped)
    }
}
