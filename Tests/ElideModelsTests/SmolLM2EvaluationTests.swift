import ElideEngine
import ElideFormats
import ElideSupport
import ElideTensor
import Foundation
import Testing

@testable import ElideModels

/// Candidate evaluation on the real SmolLM2 file and Austen text.
@Suite(.serialized) struct SmolLM2EvaluationTests {
    /// Loads the model and a calibration set of `sequences` sequences of `length` tokens from the start of *Emma*.
    static func load(sequences: Int, length: Int) throws -> (LlamaModel, CalibrationSet) {
        let file = try GGUFFile(path: try TestAssets.require(TestAssets.smolLM2Path))
        let tokenizer = try BPETokenizer(gguf: file)
        let path = try TestAssets.require(TestAssets.austenDirectory + "/emma.txt")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // About 5 characters per token; take enough text for the sequences.
        let prefix = String(text.prefix(8 * sequences * length))
        let tokens = Array(tokenizer.encode(prefix, parseSpecial: false).prefix(sequences * length))
        let calibration = try CalibrationSet(documents: [("emma.txt", tokens)], sequenceLength: length)
        #expect(calibration.count == sequences)
        return (try LlamaModel(file: file), calibration)
    }

    /// Returns a mask that drops `attention` attention and `mlp` MLP sub-blocks chosen at random with `seed`.
    static func randomMask(layers: Int, attention: Int, mlp: Int, seed: UInt64) -> SubBlockMask {
        var generator = SeededGenerator(seed: seed)
        func dropped(_ count: Int) -> Set<Int> {
            var chosen = Set<Int>()
            while chosen.count < count { chosen.insert(Int(generator.next() % UInt64(layers))) }
            return chosen
        }
        let attentionDropped = dropped(attention)
        let mlpDropped = dropped(mlp)
        return SubBlockMask(
            attentionKept: (0..<layers).map { !attentionDropped.contains($0) },
            mlpKept: (0..<layers).map { !mlpDropped.contains($0) })
    }

    @Test(arguments: [(StateStorage.f32, ActivationPrecision.q8), (.f16, .f32)])
    func klMatchesDirectComputation(storage: StateStorage, precision: ActivationPrecision) throws {
        let (model, calibration) = try Self.load(sequences: 1, length: 128)
        let evaluator = try CandidateEvaluator(
            model: model, calibration: calibration,
            settings: EvaluatorSettings(precision: precision, teacher: .exact, stateStorage: storage),
            pool: ThreadPool(threads: 2))
        let mask = Self.randomMask(layers: 30, attention: 7, mlp: 8, seed: 1)
        let result = try #require(try evaluator.evaluate(mask: mask, sequenceIDs: [0], tokensPerSequence: 128).first)
        let expected = directKLSum(model, tokens: calibration.sequences[0], mask: mask, precision: precision)
        let tolerance = storage == .f32 ? 2e-3 : 1e-2
        #expect(result.tokenCount == 127)
        #expect(
            abs(result.klSum - expected) <= tolerance * expected,
            "\(storage) states, \(precision): \(result.klSum) vs \(expected)")
    }

    @Test func resultsDoNotDependOnThreadCount() throws {
        let (model, calibration) = try Self.load(sequences: 1, length: 160)
        let mask = Self.randomMask(layers: 30, attention: 7, mlp: 8, seed: 3)
        for (teacher, precision) in [(TeacherMode.exact, ActivationPrecision.f32), (.topK(64), .q8)] {
            let settings = EvaluatorSettings(precision: precision, teacher: teacher)
            let results = try [1, 2].map { threads in
                try CandidateEvaluator(
                    model: model, calibration: calibration, settings: settings, pool: ThreadPool(threads: threads)
                ).evaluate(mask: mask, sequenceIDs: [0], tokensPerSequence: 160)
            }
            #expect(results[0] == results[1], "teacher \(teacher), \(precision)")
        }
    }

    /// Candidates from harmless to destructive: two MLPs, four late attention sub-blocks, the 15
    /// sub-blocks of lowest influence (ShortGPT's choice at 25%), and two random 25% masks.
    static func candidateLadder(scores: BlockScores) -> [SubBlockMask] {
        var twoMLPs = SubBlockMask.dense(layers: 30)
        twoMLPs.mlpKept[14] = false
        twoMLPs.mlpKept[17] = false
        var lateAttention = SubBlockMask.dense(layers: 30)
        for layer in [21, 23, 25, 27] { lateAttention.attentionKept[layer] = false }
        let ranked =
            (scores.attentionInfluence.enumerated().map { ($0.element, $0.offset, true) }
            + scores.mlpInfluence.enumerated().map { ($0.element, $0.offset, false) }).sorted { $0.0 < $1.0 }
        var lowestInfluence = SubBlockMask.dense(layers: 30)
        for (_, layer, isAttention) in ranked.prefix(15) {
            if isAttention {
                lowestInfluence.attentionKept[layer] = false
            } else {
                lowestInfluence.mlpKept[layer] = false
            }
        }
        return [twoMLPs, lateAttention, lowestInfluence]
            + [11, 12].map { randomMask(layers: 30, attention: 7, mlp: 8, seed: $0) }
    }

    /// Measures how far TopK-KL lies from the exact KL on candidates of increasing damage, and whether it
    /// orders them the same way. The table is printed for the benchmark record. With K equal to the
    /// vocabulary the two must agree up to the teacher's fp16 rounding.
    @Test func topKErrorAgainstExact() throws {
        let (model, calibration) = try Self.load(sequences: 1, length: 128)
        let pool = ThreadPool(threads: 2)
        func evaluator(_ teacher: TeacherMode) throws -> CandidateEvaluator {
            try CandidateEvaluator(
                model: model, calibration: calibration, settings: EvaluatorSettings(teacher: teacher), pool: pool)
        }
        let exactEvaluator = try evaluator(.exact)
        let masks = Self.candidateLadder(
            scores: try exactEvaluator.blockScores(sequenceIDs: [0], tokensPerSequence: 128))
        func fitness(_ evaluator: CandidateEvaluator) throws -> [Double] {
            try masks.map { try evaluator.evaluate(mask: $0, sequenceIDs: [0], tokensPerSequence: 128).meanKL }
        }
        let exact = try fitness(exactEvaluator)
        print("top-k error: exact KL per token: \(exact.map { String(format: "%.4f", $0) })")
        var meanRelativeError: [Int: Double] = [:]
        for k in [16, 256, 1024, model.configuration.vocabularySize] {
            let approximate = try fitness(try evaluator(.topK(k)))
            let relative = zip(approximate, exact).map { abs($0 - $1) / $1 }
            let agreeing = masks.indices.flatMap { i in masks.indices.filter { i < $0 }.map { (i, $0) } }
                .filter { (exact[$0.0] < exact[$0.1]) == (approximate[$0.0] < approximate[$0.1]) }.count
            meanRelativeError[k] = relative.reduce(0, +) / Double(relative.count)
            print(
                "top-k error: K=\(k) KL \(approximate.map { String(format: "%.4f", $0) }) relative error "
                    + "\(relative.map { String(format: "%.3f", $0) }), pairs ordered as exact \(agreeing)/10")
        }
        #expect(exact[0] < exact[1], "the ladder should start harmless: \(exact)")
        #expect(exact[1] < exact[2], "the ladder should start harmless: \(exact)")
        #expect(exact[2] < min(exact[3], exact[4]), "random 25% masks should be the worst: \(exact)")
        #expect(meanRelativeError[1024]! < meanRelativeError[16]!)
        #expect(meanRelativeError[model.configuration.vocabularySize]! < 1e-3)
    }

    @Test func denseModelPassesSanityCheck() throws {
        let file = try GGUFFile(path: try TestAssets.require(TestAssets.smolLM2Path))
        let tokenizer = try BPETokenizer(gguf: file)
        let paths = CalibrationSet.paths(CalibrationSet.defaultEvaluationFiles, in: TestAssets.austenDirectory)
        let heldOut = try HeldOutText.load(paths: paths, tokenizer: tokenizer, tokenCount: 512)
        let result = try DenseModelCheck.run(
            model: try LlamaModel(file: file), heldOut: heldOut, precision: .q8, context: 256,
            pool: ThreadPool(threads: 2))
        #expect(result.scoredTokens == 510)
        #expect(result.perplexity > 5)
        #expect(result.perplexity < 60)
        #expect(DenseModelCheck.tokenizerDescription(of: file) == "gpt2/smollm with 49152 tokens")
    }

    @Test func absurdPerplexityNamesModelAndTokenizer() {
        for perplexity in [Double.nan, .infinity, 1000.5, 32768.27] {
            #expect {
                try DenseModelCheck.validate(
                    perplexity: perplexity, scoredTokens: 16_383, modelPath: "/models/broken.gguf",
                    tokenizer: "gpt2/smollm with 49152 tokens", textNames: ["pride-and-prejudice.txt"])
            } throws: { error in
                let message = "\(error)"
                return message.contains("/models/broken.gguf") && message.contains("gpt2/smollm")
                    && message.contains("pride-and-prejudice.txt") && message.contains("16383")
            }
        }
        #expect(throws: Never.self) {
            try DenseModelCheck.validate(
                perplexity: 999, scoredTokens: 10, modelPath: "m", tokenizer: "t", textNames: ["x"])
        }
    }
}
