import ElideEngine
import ElideFormats
import ElideSupport
import ElideTensor
import Foundation
import Testing

@testable import ElideModels

/// A random F32 LLaMA with enough layers for cold regions and skip runs, written as a GGUF file.
enum SkipTestModel {
    static let layers = 8
    static let width = 64
    static let heads = 4
    static let kvHeads = 2
    static let feedForward = 128
    static let vocabulary = 60

    static func load(seed: UInt64) throws -> LlamaModel {
        var generator = SeededGenerator(seed: seed)
        func random(_ count: Int, scale: Float, offset: Float = 0) -> [Float] {
            (0..<count).map { _ in (generator.nextUnitFloat() * 2 - 1) * scale + offset }
        }
        let kvWidth = width / heads * kvHeads
        var tensors: [(name: String, dimensions: [Int], values: [Float])] = [
            ("token_embd.weight", [width, vocabulary], random(vocabulary * width, scale: 1)),
            ("output_norm.weight", [width], random(width, scale: 0.2, offset: 1)),
        ]
        for layer in 0..<layers {
            let prefix = "blk.\(layer)."
            tensors += [
                (prefix + "attn_norm.weight", [width], random(width, scale: 0.2, offset: 1)),
                (prefix + "ffn_norm.weight", [width], random(width, scale: 0.2, offset: 1)),
                (prefix + "attn_q.weight", [width, width], random(width * width, scale: 0.3)),
                (prefix + "attn_k.weight", [width, kvWidth], random(kvWidth * width, scale: 0.3)),
                (prefix + "attn_v.weight", [width, kvWidth], random(kvWidth * width, scale: 0.3)),
                (prefix + "attn_output.weight", [width, width], random(width * width, scale: 0.1)),
                // Layers differ in how much their FFN changes the residual stream, as in real models.
                (prefix + "ffn_gate.weight", [width, feedForward], random(feedForward * width, scale: 0.2)),
                (prefix + "ffn_up.weight", [width, feedForward], random(feedForward * width, scale: 0.2)),
                (
                    prefix + "ffn_down.weight", [feedForward, width],
                    random(width * feedForward, scale: 0.05 * Float(1 + layer % 3))
                ),
            ]
        }
        var writer = GGUFWriter()
        writer.setMetadata("general.architecture", .string("llama"))
        writer.setMetadata("llama.block_count", .uint32(UInt32(layers)))
        writer.setMetadata("llama.embedding_length", .uint32(UInt32(width)))
        writer.setMetadata("llama.feed_forward_length", .uint32(UInt32(feedForward)))
        writer.setMetadata("llama.attention.head_count", .uint32(UInt32(heads)))
        writer.setMetadata("llama.attention.head_count_kv", .uint32(UInt32(kvHeads)))
        writer.setMetadata("llama.context_length", .uint32(128))
        writer.setMetadata("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        writer.setMetadata("llama.rope.freq_base", .float32(10_000))
        writer.setMetadata("llama.vocab_size", .uint32(UInt32(vocabulary)))
        for tensor in tensors {
            try tensor.values.withUnsafeBytes { bytes in
                try writer.addTensor(name: tensor.name, dimensions: tensor.dimensions, type: .f32, bytes: bytes)
            }
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("skip-model-\(UUID()).gguf").path
        try writer.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try LlamaModel(path: path)
    }

    static let prompt = [3, 17, 42, 9, 31]
}

/// FFN skipping inside real forward passes of a small generated model.
@Suite struct FeedForwardSkipModelTests {
    static func policy(warmup: Int, threshold: Float, skipCount: Int = 2) -> FeedForwardSkipPolicy {
        FeedForwardSkipPolicy(
            warmupTokens: warmup, coldStart: 1, coldEnd: 1, threshold: threshold, skipCount: skipCount)
    }

    @Test(arguments: [ActivationPrecision.f32, .q8])
    func infiniteThresholdIsBitIdenticalToForward(precision: ActivationPrecision) throws {
        let model = try SkipTestModel.load(seed: 21)
        let pool = ThreadPool(threads: 2)
        let dense = LlamaSession(model: model, capacity: 32, precision: precision, pool: pool)
        let skipping = LlamaSession(model: model, capacity: 32, precision: precision, pool: pool)
        var skipper = FeedForwardSkipper(
            rule: .adaptive(Self.policy(warmup: 0, threshold: .infinity)), mask: skipping.mask)
        var expected = dense.logits(after: SkipTestModel.prompt)
        var actual = skipping.logits(after: SkipTestModel.prompt)
        for _ in 0..<10 {
            #expect(actual == expected)
            let token = TokenSampler.argmax(expected.withUnsafeBufferPointer { $0 })
            expected = dense.logits(after: [token])
            let skipped = skipping.decode(token, skipper: &skipper) { actual = Array($0) }
            #expect(skipped.isEmpty)
        }
        #expect(skipper.count == FeedForwardSkipCount(skipped: 0, considered: 10 * SkipTestModel.layers))
    }

    /// Replays the rule on cosines computed here from the observed hidden states, and checks that a skipped
    /// block leaves the residual stream unchanged while attention still runs in every layer.
    @Test func decisionsFollowObservedCosines() throws {
        let model = try SkipTestModel.load(seed: 22)
        let session = LlamaSession(model: model, capacity: 64, precision: .f32, pool: ThreadPool(threads: 1))
        let layers = SkipTestModel.layers
        let observed = ObservedStates()
        let observer: HiddenStateObserver = { layer, point, states, _ in observed.record(layer, point, states) }

        // Choose τ in the middle of the gap between two adjacent dense cosines so rounding cannot flip a decision.
        session.forward(SkipTestModel.prompt, logits: .none)
        session.forward([5], logits: .none, observer: observer)
        let sorted = observed.cosines(layers: layers).dropFirst().dropLast().sorted()
        let gaps = zip(sorted, sorted.dropFirst()).map { ($1 - $0, ($0 + $1) / 2) }
        let threshold = Float(gaps.max { $0.0 < $1.0 }!.1)  // !-safe: six eligible layers give five gaps.

        let policy = Self.policy(warmup: 0, threshold: threshold, skipCount: 1)
        var skipper = FeedForwardSkipper(rule: .adaptive(policy), mask: session.mask, firstTokenIndex: 1)
        session.reset()
        session.forward(SkipTestModel.prompt, logits: .none)
        var token = 7
        var totalSkipped = 0
        for _ in 0..<12 {
            observed.clear()
            let skipped = session.decode(token, skipper: &skipper, observer: observer) { logits in
                token = TokenSampler.argmax(logits)
            }
            totalSkipped += skipped.count
            let cosines = observed.cosines(layers: layers)
            // The engine's Float cosine and this Double one may disagree right at τ; such a step proves nothing.
            if cosines.contains(where: { abs($0 - Double(threshold)) < 1e-5 }) { continue }
            var expected: [Int] = []
            var remaining = 0
            for layer in 1..<(layers - 1) {
                if remaining > 0 {
                    remaining -= 1
                    expected.append(layer)
                    #expect(observed.state(layer + 1, .layerInput) == observed.state(layer, .afterAttention))
                    continue
                }
                #expect(observed.state(layer + 1, .layerInput) != observed.state(layer, .afterAttention))
                if layer + 1 < layers - 1 && cosines[layer] >= Double(threshold) { remaining = 1 }
            }
            #expect(skipped == expected)
            for layer in 0..<layers {
                #expect(observed.state(layer, .afterAttention) != observed.state(layer, .layerInput))
            }
        }
        #expect(totalSkipped > 0, "τ = \(threshold) should skip some blocks of this model")
        #expect(session.position == SkipTestModel.prompt.count + 12)
    }

    @Test func generationRespectsWarmupAndColdRegions() throws {
        let model = try SkipTestModel.load(seed: 23)
        let session = LlamaSession(model: model, capacity: 64, precision: .f32, pool: ThreadPool(threads: 2))
        let policy = FeedForwardSkipPolicy(warmupTokens: 5, coldStart: 2, coldEnd: 1, threshold: -1, skipCount: 3)
        var sampler = TokenSampler(temperature: 0, seed: 0)
        let result = TextGenerator(session: session).generate(
            prompt: SkipTestModel.prompt, maxTokens: 20, sampler: &sampler, skipPolicy: policy)
        #expect(result.generatedTokens.count == 20)
        #expect(result.skippedFeedForward.count == 20)
        for index in 0..<5 {
            #expect(result.skippedFeedForward[index].isEmpty, "token \(index) is inside the warm-up")
        }
        for index in 5..<20 {
            // τ = -1: layer 2 runs and tests, 3, 4, 5 skip, 6 runs; 7 is cold.
            #expect(result.skippedFeedForward[index] == [3, 4, 5])
        }
        #expect(result.feedForwardSkipCount == FeedForwardSkipCount(skipped: 45, considered: 15 * 8))
        #expect(result.feedForwardSkipRatio == 45.0 / 120.0)
    }

    @Test func noPolicyMatchesPlainGreedyLoop() throws {
        let model = try SkipTestModel.load(seed: 24)
        let session = LlamaSession(model: model, capacity: 64, precision: .q8, pool: ThreadPool(threads: 2))
        var sampler = TokenSampler(temperature: 0, seed: 0)
        let generator = TextGenerator(session: session)
        let result = generator.generate(prompt: SkipTestModel.prompt, maxTokens: 16, sampler: &sampler)

        let reference = LlamaSession(model: model, capacity: 64, precision: .q8, pool: ThreadPool(threads: 2))
        var logits = reference.logits(after: SkipTestModel.prompt)
        var tokens: [Int] = []
        for _ in 0..<16 {
            tokens.append(TokenSampler.argmax(logits.withUnsafeBufferPointer { $0 }))
            logits = reference.logits(after: [tokens.last!])  // !-safe: appended just before.
        }
        #expect(result.generatedTokens == tokens)
        #expect(result.skippedFeedForward.allSatisfy { $0.isEmpty })
        #expect(result.feedForwardSkipCount == FeedForwardSkipCount())

        var denseSampler = TokenSampler(temperature: 0, seed: 0)
        let infinite = generator.generate(
            prompt: SkipTestModel.prompt, maxTokens: 16, sampler: &denseSampler,
            skipPolicy: Self.policy(warmup: 0, threshold: .infinity))
        #expect(infinite.generatedTokens == tokens)
    }

    @Test func teacherForcedNilRuleMatchesInfiniteThreshold() throws {
        let model = try SkipTestModel.load(seed: 25)
        let session = LlamaSession(model: model, capacity: 64, precision: .q8, pool: ThreadPool(threads: 2))
        let decoding = TeacherForcedDecoding(session: session)
        let tokens = [1, 5, 9, 14, 2, 33, 47, 8, 8, 21, 40, 3]
        var dense: [[Float]] = []
        var infinite: [[Float]] = []
        decoding.run(tokens: tokens, promptTokens: 4, rule: nil) { _, logits in dense.append(Array(logits)) }
        let count = decoding.run(
            tokens: tokens, promptTokens: 4, rule: .adaptive(Self.policy(warmup: 0, threshold: .infinity))
        ) { _, logits in infinite.append(Array(logits)) }
        #expect(dense.count == tokens.count - 4)
        #expect(dense == infinite)
        #expect(count == FeedForwardSkipCount(skipped: 0, considered: 7 * 8))
    }

    @Test func randomRuleSkipsOnlyEligibleBlocks() throws {
        let model = try SkipTestModel.load(seed: 26)
        var mask = SubBlockMask.dense(layers: SkipTestModel.layers)
        mask.mlpKept[3] = false
        mask.attentionKept[5] = false
        let session = LlamaSession(
            model: model, capacity: 64, precision: .f32, mask: mask, pool: ThreadPool(threads: 2))
        let rule = FeedForwardSkipRule.random(ratio: 0.4, seed: 3, regions: Self.policy(warmup: 2, threshold: 0))
        try rule.validate(mask: mask)
        var sampler = TokenSampler(temperature: 0, seed: 0)
        let result = TextGenerator(session: session).generate(
            prompt: SkipTestModel.prompt, maxTokens: 40, sampler: &sampler, skipRule: rule)
        let skippedLayers = Set(result.skippedFeedForward.joined())
        #expect(!skippedLayers.isEmpty)
        #expect(skippedLayers.isSubset(of: [1, 2, 4, 5, 6]))
        #expect(result.skippedFeedForward[0].isEmpty)
        #expect(result.skippedFeedForward[1].isEmpty)
        #expect(result.feedForwardSkipCount.considered == 38 * 7)
    }
}

/// Quality measurement and calibration on the small generated model.
@Suite struct FeedForwardSkipEngineTests {
    static func randomTokens(_ count: Int, generator: inout SeededGenerator) -> [Int] {
        (0..<count).map { _ in Int(generator.next() % UInt64(SkipTestModel.vocabulary)) }
    }

    @Test func qualityOfDenseIsExact() throws {
        let model = try SkipTestModel.load(seed: 27)
        var generator = SeededGenerator(seed: 5)
        let prompts = (0..<2).map { _ in Self.randomTokens(6, generator: &generator) }
        let window = Self.randomTokens(20, generator: &generator)
        let quality = try FeedForwardSkipQuality(
            model: model, precision: .q8, pool: ThreadPool(threads: 2), prompts: prompts, continuationTokens: 10,
            perplexityWindows: [window], promptTokens: 6)
        let dense = try quality.measure(mask: nil, rule: nil)
        #expect(dense.agreement == 1)
        #expect(dense.agreementSteps == 20)
        #expect(dense.scoredTokens == 14)
        #expect(dense.perplexity > 1)
        #expect(dense.perplexity.isFinite)

        let never = FeedForwardSkipPolicy(warmupTokens: 0, coldStart: 1, coldEnd: 1, threshold: .infinity, skipCount: 1)
        let infinite = try quality.measure(mask: nil, rule: .adaptive(never))
        #expect(infinite.agreement == 1)
        #expect(infinite.perplexity == dense.perplexity)
        #expect(infinite.skipCount == FeedForwardSkipCount(skipped: 0, considered: (9 + 9 + 13) * 8))

        var always = never
        always.threshold = -1
        let skipping = try quality.measure(mask: nil, rule: .adaptive(always))
        #expect(skipping.skipCount.ratio > 0.3)
        #expect(skipping.perplexity != dense.perplexity)
    }

    @Test func calibratorReachesTargetOnSmallModel() throws {
        let model = try SkipTestModel.load(seed: 28)
        var generator = SeededGenerator(seed: 6)
        let sequences = (0..<3).map { _ in Self.randomTokens(64, generator: &generator) }
        let calibrator = FeedForwardSkipCalibrator(
            model: model, mask: nil, precision: .f32, pool: ThreadPool(threads: 2))
        var settings = FeedForwardSkipCalibrator.Settings(targetRatio: 0.3)
        settings.warmupTokens = 4
        settings.promptTokens = 8
        let calibration = try calibrator.calibrate(sequences: sequences, settings: settings)
        #expect(calibration.candidates == 2 * 2 * 4)
        #expect((1...2).contains(calibration.policy.coldStart))
        let measured = try #require(calibration.measuredRatio)
        #expect(abs(measured - 0.3) <= 0.05, "passes \(calibration.passes)")
        #expect(calibrator.measureRatio(policy: calibration.policy, sequences: sequences, promptTokens: 8) == measured)
    }

    @Test func calibratorRejectsBadSettings() throws {
        let model = try SkipTestModel.load(seed: 29)
        let calibrator = FeedForwardSkipCalibrator(
            model: model, mask: nil, precision: .f32, pool: ThreadPool(threads: 1))
        #expect(throws: CalibrationError.self) {
            try calibrator.calibrate(sequences: [Array(0..<40)], settings: .init(targetRatio: 1.5))
        }
        // 32 prompt tokens and 16 warm-up tokens do not fit in a 40-token sequence.
        #expect(throws: CalibrationError.self) {
            try calibrator.calibrate(sequences: [Array(0..<40)], settings: .init(targetRatio: 0.25))
        }
    }
}

/// Hidden states one decode step reports, keyed by layer and point.
private final class ObservedStates {
    private var states: [String: [Float]] = [:]

    func record(_ layer: Int, _ point: HiddenStatePoint, _ values: UnsafeBufferPointer<Float>) {
        states["\(layer) \(point)"] = Array(values)
    }

    func clear() { states = [:] }

    /// Returns the state at (`layer`, `point`), where the input of the layer after the last is the final output.
    func state(_ layer: Int, _ point: HiddenStatePoint) -> [Float] {
        if layer == SkipTestModel.layers { return states["\(layer) \(HiddenStatePoint.finalOutput)"] ?? [] }
        return states["\(layer) \(point)"] ?? []
    }

    /// cos(h, h + FFN(h)) of every layer, computed in Double.
    func cosines(layers: Int) -> [Double] {
        (0..<layers).map { layer in
            let input = state(layer, .afterAttention).map(Double.init)
            let output = state(layer + 1, .layerInput).map(Double.init)
            let dot = zip(input, output).reduce(0) { $0 + $1.0 * $1.1 }
            let norms = (input.reduce(0) { $0 + $1 * $1 } * output.reduce(0) { $0 + $1 * $1 }).squareRoot()
            return dot / norms
        }
    }
}
