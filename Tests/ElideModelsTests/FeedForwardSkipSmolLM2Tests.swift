import ElideEngine
import ElideFormats
import ElideModels
import ElideTensor
import Foundation
import Testing

/// FFN skipping on the real SmolLM2 file: calibration and short generations.
@Suite(.serialized) struct FeedForwardSkipSmolLM2Tests {
    /// Returns `count` sequences of `length` tokens from consecutive stretches of an Austen novel.
    static func sequences(_ novel: String, tokenizer: BPETokenizer, count: Int, length: Int) throws -> [[Int]] {
        let path = try TestAssets.require(TestAssets.austenDirectory + "/" + novel)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // About 5 characters per token; skip the title pages.
        let start = text.index(text.startIndex, offsetBy: 5_000)
        let tokens = tokenizer.encode(String(text[start...].prefix(8 * count * length)), parseSpecial: false)
        return (0..<count).map { Array(tokens[($0 * length)..<(($0 + 1) * length)]) }
    }

    static func load() throws -> (LlamaModel, BPETokenizer) {
        let file = try GGUFFile(path: try TestAssets.require(TestAssets.smolLM2Path))
        return (try LlamaModel(file: file), try BPETokenizer(gguf: file))
    }

    @Test func calibrationReachesTargetRatio() throws {
        let (model, tokenizer) = try Self.load()
        let calibrationText = try Self.sequences("emma.txt", tokenizer: tokenizer, count: 2, length: 160)
        let heldOut = try Self.sequences("persuasion.txt", tokenizer: tokenizer, count: 2, length: 160)
        let calibrator = FeedForwardSkipCalibrator(
            model: model, mask: nil, precision: .q8, pool: ThreadPool(threads: 2))
        var settings = FeedForwardSkipCalibrator.Settings(targetRatio: 0.25)
        settings.warmupTokens = 8
        settings.promptTokens = 16
        let calibration = try calibrator.calibrate(sequences: calibrationText, settings: settings)
        let policy = calibration.policy
        try policy.validate(layerCount: 30)
        #expect(policy.warmupTokens == 8)
        #expect(policy.coldStart >= 1)
        #expect(policy.coldEnd >= 1)

        let measured = try #require(calibration.measuredRatio)
        #expect(abs(measured - 0.25) <= 0.03, "calibration text: ratio \(measured), passes \(calibration.passes)")
        let heldOutRatio = calibrator.measureRatio(policy: policy, sequences: heldOut, promptTokens: 16)
        #expect(abs(heldOutRatio - 0.25) <= 0.08, "held-out text: ratio \(heldOutRatio) with \(policy)")
    }

    @Test func shortGenerationWithPlanAndPolicy() throws {
        let (model, tokenizer) = try Self.load()
        let plan = CompressionPlan(layers: 30, attentionDropped: [5, 17], mlpDropped: [4, 16, 25])
        try plan.validate(layerCount: 30)
        let policy = FeedForwardSkipPolicy(warmupTokens: 4, coldStart: 2, coldEnd: 2, threshold: 0.97, skipCount: 2)
        let prompt = tokenizer.encode("The capital of France is", parseSpecial: false)
        let pool = ThreadPool(threads: 2)

        func generate() -> GenerationResult {
            let session = LlamaSession(model: model, capacity: 64, precision: .q8, mask: plan.mask, pool: pool)
            var sampler = TokenSampler(temperature: 0, seed: 0)
            return TextGenerator(session: session).generate(
                prompt: prompt, maxTokens: 24, sampler: &sampler, skipPolicy: policy)
        }
        let result = generate()
        #expect(result.generatedTokens.count == 24)
        #expect(Set(result.generatedTokens).isSubset(of: Set(0..<model.configuration.vocabularySize)))
        for index in 0..<4 {
            #expect(result.skippedFeedForward[index].isEmpty, "token \(index) is inside the warm-up")
        }
        let skipped = Set(result.skippedFeedForward.joined())
        #expect(!skipped.isEmpty)
        #expect(skipped.isDisjoint(with: [0, 1, 28, 29]), "cold layers were skipped: \(skipped.sorted())")
        #expect(skipped.isDisjoint(with: plan.mlpDropped), "dropped blocks were counted as skipped")
        #expect(result.feedForwardSkipCount.considered == 20 * 27)
        #expect(result.feedForwardSkipRatio > 0)
        #expect(result.feedForwardSkipRatio < 0.6)

        let again = generate()
        #expect(again.generatedTokens == result.generatedTokens)
        #expect(again.skippedFeedForward == result.skippedFeedForward)
    }
}
