import ElideEngine
import ElideSupport
import ElideTensor
import Foundation
import Testing

@testable import ElideModels

/// Computes KL(dense ‖ candidate) summed over positions `0 ..< tokens.count − 1` from two full forward
/// passes, in Double: the reference the evaluator's cached, resumed computation must reproduce.
func directKLSum(_ model: LlamaModel, tokens: [Int], mask: SubBlockMask, precision: ActivationPrecision) -> Double {
    func logProbabilities(_ mask: SubBlockMask) -> [[Double]] {
        let session = LlamaSession(
            model: model, capacity: tokens.count, precision: precision, mask: mask, pool: ThreadPool(threads: 2))
        var rows: [[Double]] = []
        session.forward(
            tokens, logits: .all,
            onLogits: { _, logits in
                let maximum = Double(logits.max()!)
                let shift = maximum + log(logits.reduce(0.0) { $0 + exp(Double($1) - maximum) })
                rows.append(logits.map { Double($0) - shift })
            })
        return rows
    }
    let dense = logProbabilities(.dense(layers: model.configuration.blockCount))
    let candidate = logProbabilities(mask)
    var total = 0.0
    for position in 0..<(tokens.count - 1) {
        for (p, q) in zip(dense[position], candidate[position]) {
            total += exp(p) * (p - q)
        }
    }
    return total
}

/// A tiny random model on disk with a calibration set of random token documents.
struct TinyCalibration {
    let path: String
    let model: LlamaModel
    let calibration: CalibrationSet

    init(seed: UInt64, sequenceLength: Int = 16) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-kl-\(UUID()).gguf").path
        try TinyLlama(seed: seed).write(to: path)
        model = try LlamaModel(path: path)
        var generator = SeededGenerator(seed: seed)
        let documents = (0..<3).map { index in
            (
                name: "document \(index)",
                tokens: (0..<70).map { _ in Int(generator.next() % UInt64(TinyLlama.vocabulary)) }
            )
        }
        calibration = try CalibrationSet(documents: documents, sequenceLength: sequenceLength)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func evaluator(_ settings: EvaluatorSettings, threads: Int = 2) throws -> CandidateEvaluator {
        try CandidateEvaluator(
            model: model, calibration: calibration, settings: settings, pool: ThreadPool(threads: threads))
    }
}

@Suite struct CandidateEvaluatorTests {
    static let tinyMasks: [SubBlockMask] = [
        SubBlockMask(attentionKept: [false, true], mlpKept: [true, true]),
        SubBlockMask(attentionKept: [true, true], mlpKept: [false, true]),
        SubBlockMask(attentionKept: [true, false], mlpKept: [true, false]),
        SubBlockMask(attentionKept: [true, true], mlpKept: [true, false]),
    ]

    static func closeEnough(_ actual: Double, _ expected: Double, relative: Double) -> Bool {
        abs(actual - expected) <= relative * abs(expected) + 1e-5
    }

    @Test(arguments: [TeacherMode.exact, .topK(TinyLlama.vocabulary)])
    func tinyKLMatchesDirectComputation(teacher: TeacherMode) throws {
        let tiny = try TinyCalibration(seed: 31)
        defer { tiny.remove() }
        let evaluator = try tiny.evaluator(EvaluatorSettings(precision: .f32, teacher: teacher, stateStorage: .f32))
        let ids = [0, 5, 11]
        for mask in Self.tinyMasks {
            let results = try evaluator.evaluate(mask: mask, sequenceIDs: ids, tokensPerSequence: 16)
            #expect(results.map(\.sequenceID) == ids)
            for result in results {
                let tokens = tiny.calibration.sequences[result.sequenceID]
                let expected = directKLSum(tiny.model, tokens: tokens, mask: mask, precision: .f32)
                #expect(result.tokenCount == 15)
                #expect(expected > 0.01, "the mask should change the predictions")
                // The exact teacher is rounded to fp16: about 5e-4 relative error per log-probability.
                #expect(
                    Self.closeEnough(result.klSum, expected, relative: 2e-3),
                    "mask \(mask), sequence \(result.sequenceID): \(result.klSum) vs \(expected)")
            }
        }
    }

    @Test func tinyPrefixMatchesDirectComputationOnPrefix() throws {
        let tiny = try TinyCalibration(seed: 32)
        defer { tiny.remove() }
        let evaluator = try tiny.evaluator(EvaluatorSettings(precision: .f32, stateStorage: .f32))
        let mask = Self.tinyMasks[2]
        let result = try #require(try evaluator.evaluate(mask: mask, sequenceIDs: [7], tokensPerSequence: 9).first)
        let tokens = Array(tiny.calibration.sequences[7].prefix(9))
        let expected = directKLSum(tiny.model, tokens: tokens, mask: mask, precision: .f32)
        #expect(result.tokenCount == 8)
        #expect(Self.closeEnough(result.klSum, expected, relative: 2e-3), "\(result.klSum) vs \(expected)")
    }

    @Test func denseMaskScoresZeroWithoutRunning() throws {
        let tiny = try TinyCalibration(seed: 33)
        defer { tiny.remove() }
        let evaluator = try tiny.evaluator(EvaluatorSettings())
        let results = try evaluator.evaluate(
            mask: .dense(layers: TinyLlama.layers), sequenceIDs: [1, 2], tokensPerSequence: 16)
        #expect(
            results == [
                SequenceKL(sequenceID: 1, klSum: 0, tokenCount: 15), .init(sequenceID: 2, klSum: 0, tokenCount: 15),
            ])
        #expect(evaluator.cache.statistics.misses == 0)
    }

    @Test func meanKLIsTokenWeighted() {
        let results = [
            SequenceKL(sequenceID: 0, klSum: 3, tokenCount: 10), SequenceKL(sequenceID: 1, klSum: 1, tokenCount: 30),
        ]
        #expect(results.meanKL == 0.1)
        #expect([SequenceKL]().meanKL == 0)
    }

    @Test func halfPrecisionStatesStayCloseToFloatStates() throws {
        let tiny = try TinyCalibration(seed: 34)
        defer { tiny.remove() }
        let exactStates = try tiny.evaluator(EvaluatorSettings(precision: .f32, stateStorage: .f32))
        let halfStates = try tiny.evaluator(EvaluatorSettings(precision: .f32, stateStorage: .f16))
        for mask in Self.tinyMasks {
            let reference = try exactStates.evaluate(mask: mask, sequenceIDs: [3, 4], tokensPerSequence: 16)
            let rounded = try halfStates.evaluate(mask: mask, sequenceIDs: [3, 4], tokensPerSequence: 16)
            for (a, b) in zip(reference, rounded) {
                #expect(Self.closeEnough(b.klSum, a.klSum, relative: 1e-2), "\(b.klSum) vs \(a.klSum)")
            }
        }
    }

    @Test(arguments: [ActivationPrecision.f32, .q8])
    func tinyResultsDoNotDependOnThreadCount(precision: ActivationPrecision) throws {
        let tiny = try TinyCalibration(seed: 35)
        defer { tiny.remove() }
        for teacher in [TeacherMode.exact, .topK(8)] {
            let settings = EvaluatorSettings(precision: precision, teacher: teacher)
            let singleThreaded = try tiny.evaluator(settings, threads: 1)
            let threeThreads = try tiny.evaluator(settings, threads: 3)
            for mask in Self.tinyMasks {
                let expected = try singleThreaded.evaluate(mask: mask, sequenceIDs: [0, 6, 9], tokensPerSequence: 16)
                let actual = try threeThreads.evaluate(mask: mask, sequenceIDs: [0, 6, 9], tokensPerSequence: 16)
                #expect(actual == expected, "teacher \(teacher), mask \(mask)")
            }
        }
    }

    @Test func cacheBuildsEachSequenceOnce() throws {
        let tiny = try TinyCalibration(seed: 36)
        defer { tiny.remove() }
        let evaluator = try tiny.evaluator(EvaluatorSettings())
        _ = try evaluator.evaluate(mask: Self.tinyMasks[0], sequenceIDs: [0, 1, 2], tokensPerSequence: 16)
        _ = try evaluator.evaluate(mask: Self.tinyMasks[1], sequenceIDs: [2, 1], tokensPerSequence: 8)
        let statistics = evaluator.cache.statistics
        #expect(statistics.misses == 3)
        #expect(statistics.hits == 2)
        #expect(statistics.entries == 3)
        #expect(statistics.evictions == 0)
        let oneSequence = try evaluator.cache.reference(sequenceID: 0).byteCount
        #expect(statistics.bytes == 3 * oneSequence)
    }

    @Test func cacheEvictsLeastRecentlyUsedBeyondBudget() throws {
        let tiny = try TinyCalibration(seed: 37)
        defer { tiny.remove() }
        let probe = try tiny.evaluator(EvaluatorSettings())
        let perSequence = try probe.cache.reference(sequenceID: 0).byteCount
        let evaluator = try tiny.evaluator(EvaluatorSettings(cacheBytes: 2 * perSequence))
        try evaluator.cache.prepare(sequenceIDs: [0, 1])
        _ = try evaluator.cache.reference(sequenceID: 0)  // 1 is now the least recently used
        try evaluator.cache.prepare(sequenceIDs: [2])
        let before = evaluator.cache.statistics
        #expect(before.entries == 2)
        #expect(before.evictions == 1)
        _ = try evaluator.cache.reference(sequenceID: 0)
        #expect(evaluator.cache.statistics.misses == before.misses, "sequence 0 should still be cached")
        _ = try evaluator.cache.reference(sequenceID: 1)
        #expect(evaluator.cache.statistics.misses == before.misses + 1, "sequence 1 should have been evicted")
    }

    @Test func invalidRequestsAreRejected() throws {
        let tiny = try TinyCalibration(seed: 38)
        defer { tiny.remove() }
        let evaluator = try tiny.evaluator(EvaluatorSettings())
        let mask = Self.tinyMasks[0]
        #expect(tiny.calibration.count == 12)
        #expect {
            try evaluator.evaluate(mask: mask, sequenceIDs: [12], tokensPerSequence: 16)
        } throws: { "\($0)".contains("sequence id 12") && "\($0)".contains("0..<12") }
        #expect {
            try evaluator.evaluate(mask: mask, sequenceIDs: [0], tokensPerSequence: 17)
        } throws: { "\($0)".contains("17 tokens") }
        #expect {
            try evaluator.evaluate(mask: mask, sequenceIDs: [0], tokensPerSequence: 1)
        } throws: { "\($0)".contains("1 tokens") }
        #expect {
            try evaluator.evaluate(mask: .dense(layers: 3), sequenceIDs: [0], tokensPerSequence: 16)
        } throws: { "\($0)".contains("3 layers") }
        #expect {
            try tiny.evaluator(EvaluatorSettings(teacher: .topK(51)))
        } throws: { "\($0)".contains("top-k:51") }
    }

    @Test func teacherModeParsesAndPrints() throws {
        #expect(try TeacherMode(parsing: "exact") == .exact)
        #expect(try TeacherMode(parsing: "top-k:256") == .topK(256))
        #expect(try TeacherMode(parsing: "TopK:10") == .topK(10))
        #expect(TeacherMode.topK(64).description == "top-k:64")
        #expect(throws: CalibrationError.self) { try TeacherMode(parsing: "top-k:1") }
        #expect(throws: CalibrationError.self) { try TeacherMode(parsing: "sparse") }
        let encoded = try JSONEncoder().encode([TeacherMode.exact, .topK(32)])
        #expect(String(decoding: encoded, as: UTF8.self) == #"["exact","top-k:32"]"#)
        #expect(try JSONDecoder().decode([TeacherMode].self, from: encoded) == [.exact, .topK(32)])
    }

    @Test func registryLoadsEachKeyOnce() throws {
        // The tiny model has no tokenizer, so the registry loads the real model.
        let registry = EvaluatorRegistry()
        let model = try TestAssets.require(TestAssets.smolLM2Path)
        let excerpt = try TestAssets.require(TestAssets.excerptPath)
        let key = EvaluatorRegistry.Key(
            modelPath: model, calibrationPaths: [excerpt], sequenceLength: 256, threads: 2)
        let first = try registry.evaluator(for: key)
        let second = try registry.evaluator(for: key)
        #expect(first === second)
        var other = key
        other.sequenceLength = 128
        let third = try registry.evaluator(for: other)
        #expect(third !== first)
        #expect(first.calibration.sequenceLength == 256)
        #expect(third.calibration.count >= 2 * first.calibration.count)
    }
}
