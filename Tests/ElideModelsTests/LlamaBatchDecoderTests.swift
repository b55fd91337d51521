import ElideEngine
import ElideSupport
import ElideTensor
import Testing

@testable import ElideModels

/// Batched decoding of several sequences, each skipping FFN blocks on its own, on a small generated model.
@Suite struct LlamaBatchDecoderTests {
    static let prompts = [[3, 17, 42, 9, 31], [8, 2], [5, 44, 12, 19, 27, 33, 1, 50]]

    /// Cold layer 0 and 7, warm-up of two generated tokens.
    static func policy(threshold: Float) -> FeedForwardSkipPolicy {
        FeedForwardSkipPolicy(warmupTokens: 2, coldStart: 1, coldEnd: 1, threshold: threshold, skipCount: 2)
    }

    static func sessions(
        _ model: LlamaModel, precision: ActivationPrecision, pool: ThreadPool, prompts: [[Int]] = prompts
    ) -> [LlamaSession] {
        prompts.map { prompt in
            let session = LlamaSession(model: model, capacity: 48, precision: precision, pool: pool)
            session.forward(prompt, logits: .none)
            return session
        }
    }

    /// Returns an adaptive skipper that skips after every measured block, a random one, and none, so the
    /// rows of one step skip different blocks.
    static func mixedSkippers(mask: SubBlockMask) -> [FeedForwardSkipper?] {
        [
            FeedForwardSkipper(rule: .adaptive(policy(threshold: -1)), mask: mask),
            FeedForwardSkipper(rule: .random(ratio: 0.5, seed: 7, regions: policy(threshold: 0)), mask: mask),
            nil,
        ]
    }

    @Test(arguments: LlamaBatchDecoder.FeedForwardStrategy.allCases)
    func q8StepsMatchSingleSequenceDecoding(strategy: LlamaBatchDecoder.FeedForwardStrategy) throws {
        let model = try SkipTestModel.load(seed: 31)
        let pool = ThreadPool(threads: 2)
        let batched = Self.sessions(model, precision: .q8, pool: pool)
        let single = Self.sessions(model, precision: .q8, pool: pool)
        let mask = batched[0].mask
        let decoder = LlamaBatchDecoder(
            sessions: batched, skippers: Self.mixedSkippers(mask: mask), strategy: strategy)
        var references = Self.mixedSkippers(mask: mask)
        var tokens = [7, 11, 23]
        var totalSkipped = 0

        for step in 0..<14 {
            // Sequence 1 sits out steps 4 to 6, so positions drift apart and a step can have two rows.
            let input: [Int?] = tokens.indices.map { step >= 4 && step <= 6 && $0 == 1 ? nil : tokens[$0] }
            var batchedLogits = [[Float]?](repeating: nil, count: 3)
            let skipped = decoder.decode(input) { sequence, logits in batchedLogits[sequence] = Array(logits) }

            for sequence in 0..<3 {
                guard let token = input[sequence] else {
                    #expect(skipped[sequence] == nil)
                    #expect(batchedLogits[sequence] == nil)
                    continue
                }
                var expected: [Float] = []
                let expectedSkipped: [Int]
                if references[sequence] != nil {
                    expectedSkipped = single[sequence].decode(token, skipper: &references[sequence]!) {
                        expected = Array($0)
                    }
                } else {
                    expected = single[sequence].logits(after: [token])
                    expectedSkipped = []
                }
                let actual = try #require(batchedLogits[sequence])
                #expect(actual == expected, "step \(step), sequence \(sequence): logits differ")
                #expect(skipped[sequence] == expectedSkipped, "step \(step), sequence \(sequence)")
                totalSkipped += expectedSkipped.count
                tokens[sequence] = TokenSampler.argmax(actual.withUnsafeBufferPointer { $0 })
            }
        }
        for sequence in 0..<3 {
            #expect(batched[sequence].position == single[sequence].position)
            #expect(decoder.skippers[sequence]?.count == references[sequence]?.count)
        }
        #expect(totalSkipped > 0, "the mixed skippers should skip some blocks")
        #expect(decoder.statistics.skippedRows == totalSkipped)
    }

    @Test func strategiesAgreeAndRegroupingDropsSkippedRows() throws {
        let model = try SkipTestModel.load(seed: 32)
        let pool = ThreadPool(threads: 2)
        let prompts = Self.prompts + [[4, 4, 9]]
        let rule = FeedForwardSkipRule.random(ratio: 0.6, seed: 0, regions: Self.policy(threshold: 0))
        func decoder(_ strategy: LlamaBatchDecoder.FeedForwardStrategy) -> LlamaBatchDecoder {
            let sessions = Self.sessions(model, precision: .q8, pool: pool, prompts: prompts)
            let skippers = (0..<4).map { index -> FeedForwardSkipper? in
                guard case .random(let ratio, _, let regions) = rule else { return nil }
                return FeedForwardSkipper(
                    rule: .random(ratio: ratio, seed: UInt64(index), regions: regions), mask: sessions[0].mask)
            }
            return LlamaBatchDecoder(sessions: sessions, skippers: skippers, strategy: strategy)
        }
        let masked = decoder(.maskedRows)
        let regrouped = decoder(.regrouped)
        var tokens: [Int?] = [7, 11, 23, 40]
        for step in 0..<20 {
            var maskedLogits = [[Float]](repeating: [], count: 4)
            var regroupedLogits = [[Float]](repeating: [], count: 4)
            let maskedSkipped = masked.decode(tokens) { maskedLogits[$0] = Array($1) }
            let regroupedSkipped = regrouped.decode(tokens) { regroupedLogits[$0] = Array($1) }
            #expect(maskedLogits == regroupedLogits, "step \(step)")
            #expect(maskedSkipped == regroupedSkipped, "step \(step)")
            tokens = maskedLogits.map { TokenSampler.argmax($0.withUnsafeBufferPointer { $0 }) }
        }

        let maskedWork = masked.statistics
        let regroupedWork = regrouped.statistics
        #expect(maskedWork.feedForwardBlocks == 20 * SkipTestModel.layers)
        #expect(maskedWork.feedForwardProducts == maskedWork.feedForwardBlocks)
        #expect(maskedWork.feedForwardRows == 4 * maskedWork.feedForwardBlocks)
        #expect(regroupedWork.skippedRows == maskedWork.skippedRows)
        #expect(regroupedWork.feedForwardRows == maskedWork.feedForwardRows - maskedWork.skippedRows)
        // Eligible blocks skip with probability 0.8 here, so some layer of some step skips on all four rows.
        #expect(regroupedWork.feedForwardProducts < regroupedWork.feedForwardBlocks)
    }

    /// With `.f32` activations a step of four rows multiplies through OpenBLAS, so its logits are not
    /// bit-identical to single-sequence steps. They stay within rounding of them.
    @Test func f32StepsStayWithinRoundingOfSingleSequenceDecoding() throws {
        let model = try SkipTestModel.load(seed: 33)
        let pool = ThreadPool(threads: 2)
        let prompts = Self.prompts + [[4, 4, 9]]
        let batched = Self.sessions(model, precision: .f32, pool: pool, prompts: prompts)
        let single = Self.sessions(model, precision: .f32, pool: pool, prompts: prompts)
        let decoder = LlamaBatchDecoder(sessions: batched, strategy: .regrouped)
        var tokens = [7, 11, 23, 40]
        var largestDifference: Float = 0
        for _ in 0..<10 {
            var actual = [[Float]](repeating: [], count: 4)
            decoder.decode(tokens.map { $0 }) { actual[$0] = Array($1) }
            for sequence in 0..<4 {
                let expected = single[sequence].logits(after: [tokens[sequence]])
                let scale = expected.map(abs).max() ?? 1
                let difference = zip(actual[sequence], expected).map { abs($0 - $1) }.max() ?? 0
                largestDifference = max(largestDifference, difference / scale)
                // Feed both sides the single-sequence choice so the inputs stay the same.
                tokens[sequence] = TokenSampler.argmax(expected.withUnsafeBufferPointer { $0 })
            }
        }
        // Measured here: 3.6e-7 with Debian's OpenBLAS 0.3.21.
        #expect(largestDifference < 1e-5, "largest logit difference relative to the largest logit")
    }

    @Test(arguments: LlamaBatchDecoder.FeedForwardStrategy.allCases)
    func generatorMatchesTextGeneratorPerPrompt(strategy: LlamaBatchDecoder.FeedForwardStrategy) throws {
        let model = try SkipTestModel.load(seed: 34)
        let pool = ThreadPool(threads: 2)
        let rule = FeedForwardSkipRule.adaptive(
            FeedForwardSkipPolicy(warmupTokens: 3, coldStart: 1, coldEnd: 1, threshold: 0.2, skipCount: 1))
        // A compression plan drops one FFN block and one attention block (whose layer then keeps no cache).
        var mask = SubBlockMask.dense(layers: SkipTestModel.layers)
        mask.mlpKept[3] = false
        mask.attentionKept[5] = false

        func alone(_ prompt: [Int], stopTokens: Set<Int>) -> GenerationResult {
            let session = LlamaSession(model: model, capacity: 48, precision: .q8, mask: mask, pool: pool)
            var sampler = TokenSampler(temperature: 0, seed: 0)
            return TextGenerator(session: session).generate(
                prompt: prompt, maxTokens: 18, sampler: &sampler, stopTokens: stopTokens, skipRule: rule)
        }
        // Stop at the sixth token sequence 0 produces, so one sequence finishes early.
        let stopToken = alone(Self.prompts[0], stopTokens: [])
            .generatedTokens[5]
        let expected = Self.prompts.map { alone($0, stopTokens: [stopToken]) }

        let sessions = Self.prompts.map { _ in
            LlamaSession(model: model, capacity: 48, precision: .q8, mask: mask, pool: pool)
        }
        var samplers = Self.prompts.map { _ in TokenSampler(temperature: 0, seed: 0) }
        let result = BatchTextGenerator(sessions: sessions, strategy: strategy).generate(
            prompts: Self.prompts, maxTokens: 18, samplers: &samplers, stopTokens: [stopToken], skipRule: rule)

        #expect(result.sequences.count == 3)
        #expect(expected[0].stoppedAtEndOfSequence)
        for (sequence, reference) in expected.enumerated() {
            let actual = result.sequences[sequence]
            #expect(actual.generatedTokens == reference.generatedTokens, "sequence \(sequence)")
            #expect(actual.skippedFeedForward == reference.skippedFeedForward, "sequence \(sequence)")
            #expect(actual.feedForwardSkipCount == reference.feedForwardSkipCount, "sequence \(sequence)")
            #expect(actual.stoppedAtEndOfSequence == reference.stoppedAtEndOfSequence, "sequence \(sequence)")
        }
        #expect(result.sequences.contains { $0.feedForwardSkipCount.skipped > 0 })
    }
}
