import ElideModels
import ElideSupport
import ElideTensor

/// The outcome of one batched generation.
public struct BatchGenerationResult: Sendable {
    /// One result per prompt, in prompt order. Each `decodeSeconds` is the time of the whole batched
    /// decode loop, which every sequence shares.
    public var sequences: [GenerationResult]
    /// Wall-clock time of the batched decode loop.
    public var decodeSeconds: Double
    /// FFN work of the decode steps.
    public var statistics: LlamaBatchDecoder.Statistics

    /// Decode speed summed over the sequences: the tokens produced after each sequence's first one (which
    /// comes from its prefill), divided by the time of the batched loop.
    public var decodeTokensPerSecond: Double {
        let tokens = sequences.reduce(0) { $0 + max($1.generatedTokens.count - 1, 0) }
        return Double(tokens) / max(decodeSeconds, 1e-9)
    }
}

/// Autoregressive generation of several prompts at once: each prompt is prefilled on its own session,
/// then every decode step advances all unfinished sequences with one `LlamaBatchDecoder` step.
///
/// Each sequence follows `TextGenerator`'s rules (stop tokens, the token limit, the cache capacity, and
/// the skip bookkeeping of `GenerationResult`), so with `.q8` activations and greedy samplers the tokens
/// and skipped blocks equal those of `TextGenerator` run on each prompt alone.
public struct BatchTextGenerator {
    public let sessions: [LlamaSession]
    public let strategy: LlamaBatchDecoder.FeedForwardStrategy

    /// Creates a generator over `sessions`, which must share one model, precision and mask.
    public init(sessions: [LlamaSession], strategy: LlamaBatchDecoder.FeedForwardStrategy) {
        self.sessions = sessions
        self.strategy = strategy
    }

    /// Generates up to `maxTokens` tokens after each of `prompts` (one per session), stopping a sequence
    /// early at any id in `stopTokens`, which is not included in its result.
    /// - Parameters:
    ///   - samplers: one per prompt; each sequence draws from its own.
    ///   - skipRule: the FFN skip rule every sequence follows with its own state, or nil to run every block.
    ///     It must be valid for the sessions' mask (`FeedForwardSkipRule.validate(mask:)`).
    public func generate(
        prompts: [[Int]], maxTokens: Int, samplers: inout [TokenSampler], stopTokens: Set<Int> = [],
        skipRule: FeedForwardSkipRule? = nil
    ) -> BatchGenerationResult {
        let count = sessions.count
        precondition(prompts.count == count, "\(prompts.count) prompts for \(count) sessions; pass one each")
        precondition(samplers.count == count, "\(samplers.count) samplers for \(count) prompts; pass one each")
        precondition(prompts.allSatisfy { !$0.isEmpty }, "every prompt must contain at least one token")

        var next = [Int](repeating: 0, count: count)
        var prefillSeconds = [Double](repeating: 0, count: count)
        for (index, session) in sessions.enumerated() {
            session.reset()
            let start = MonotonicClock.now()
            session.forward(
                prompts[index], logits: .last, onLogits: { _, logits in next[index] = samplers[index].sample(logits) })
            prefillSeconds[index] = MonotonicClock.seconds(since: start)
        }
        let skippers = skipRule.map { rule in
            sessions.map { FeedForwardSkipper(rule: rule, mask: $0.mask, firstTokenIndex: 1) }
        }
        let decoder = LlamaBatchDecoder(sessions: sessions, skippers: skippers ?? [], strategy: strategy)

        var generated = [[Int]](repeating: [], count: count)
        var skipped = [[[Int]]](repeating: [], count: count)
        var nextSkipped = [[Int]](repeating: [], count: count)
        var skipCounts = [FeedForwardSkipCount](repeating: FeedForwardSkipCount(), count: count)
        var stopped = [Bool](repeating: false, count: count)
        var finished = [Bool](repeating: false, count: count)
        let decodeStart = MonotonicClock.now()
        while true {
            // Keep each sequence's pending token, or finish the sequence, exactly as `TextGenerator` does.
            var tokens = [Int?](repeating: nil, count: count)
            for index in 0..<count where !finished[index] {
                if generated[index].count >= maxTokens || stopTokens.contains(next[index]) {
                    stopped[index] = generated[index].count < maxTokens
                    finished[index] = true
                    continue
                }
                generated[index].append(next[index])
                skipped[index].append(nextSkipped[index])
                if generated[index].count == maxTokens || sessions[index].position >= sessions[index].capacity {
                    finished[index] = true
                    continue
                }
                tokens[index] = next[index]
            }
            if tokens.allSatisfy({ $0 == nil }) { break }

            // A step's skips belong to the token it produces, and count only if that token is kept.
            let before = decoder.skippers.map { $0?.count ?? FeedForwardSkipCount() }
            let stepSkipped = decoder.decode(tokens) { sequence, logits in
                next[sequence] = samplers[sequence].sample(logits)
            }
            for index in 0..<count where tokens[index] != nil {
                nextSkipped[index] = stepSkipped[index] ?? []
                let after = decoder.skippers[index]?.count ?? FeedForwardSkipCount()
                let step = FeedForwardSkipCount(
                    skipped: after.skipped - before[index].skipped,
                    considered: after.considered - before[index].considered)
                if !stopTokens.contains(next[index]) { skipCounts[index] += step }
            }
        }
        let decodeSeconds = MonotonicClock.seconds(since: decodeStart)

        let results = (0..<count).map { index in
            GenerationResult(
                promptTokens: prompts[index], generatedTokens: generated[index], prefillSeconds: prefillSeconds[index],
                decodeSeconds: decodeSeconds, stoppedAtEndOfSequence: stopped[index],
                skippedFeedForward: skipped[index], feedForwardSkipCount: skipCounts[index])
        }
        return BatchGenerationResult(
            sequences: results, decodeSeconds: decodeSeconds, statistics: decoder.statistics)
    }
}
