import ElideEngine
import ElideFormats
import ElideModels
import ElideTensor
import Testing

/// Batched decoding with per-sequence FFN skipping on the real SmolLM2 file.
@Suite(.serialized) struct LlamaBatchDecoderSmolLM2Tests {
    @Test func fourPromptsMatchSingleSequenceGeneration() throws {
        let (model, tokenizer) = try FeedForwardSkipSmolLM2Tests.load()
        let prompts = [
            "The capital of France is", "Once upon a time, in a small village,",
            "Water boils at", "The three primary colors are",
        ].map { tokenizer.encode($0, parseSpecial: false) }
        #expect(
            Set(prompts.map(\.count)).count > 1, "prompts of different lengths put sequences at different positions")
        let rule = FeedForwardSkipRule.adaptive(
            FeedForwardSkipPolicy(warmupTokens: 4, coldStart: 1, coldEnd: 2, threshold: 0.9760866, skipCount: 2))
        let pool = ThreadPool(threads: 2)

        let expected = prompts.map { prompt in
            let session = LlamaSession(model: model, capacity: 64, precision: .q8, pool: pool)
            var sampler = TokenSampler(temperature: 0, seed: 0)
            return TextGenerator(session: session).generate(
                prompt: prompt, maxTokens: 16, sampler: &sampler, skipRule: rule)
        }
        for strategy in LlamaBatchDecoder.FeedForwardStrategy.allCases {
            let sessions = prompts.map { _ in LlamaSession(model: model, capacity: 64, precision: .q8, pool: pool) }
            var samplers = prompts.map { _ in TokenSampler(temperature: 0, seed: 0) }
            let result = BatchTextGenerator(sessions: sessions, strategy: strategy).generate(
                prompts: prompts, maxTokens: 16, samplers: &samplers, skipRule: rule)
            for (sequence, reference) in expected.enumerated() {
                let actual = result.sequences[sequence]
                #expect(actual.generatedTokens == reference.generatedTokens, "\(strategy), sequence \(sequence)")
                #expect(actual.skippedFeedForward == reference.skippedFeedForward, "\(strategy), sequence \(sequence)")
                #expect(actual.feedForwardSkipCount == reference.feedForwardSkipCount)
            }
            #expect(result.statistics.skippedRows > 0, "\(strategy): τ = 0.976 should skip some blocks")
        }
        let patterns = Set(expected.map(\.skippedFeedForward))
        #expect(patterns.count > 1, "the four sequences should skip different blocks")
    }
}
