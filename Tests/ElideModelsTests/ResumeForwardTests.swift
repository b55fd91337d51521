import ElideTensor
import Foundation
import Testing

@testable import ElideModels

/// Resuming a forward pass from hidden states a dense pass observed must reproduce a full forward pass.
@Suite struct ResumeForwardTests {
    static let tokens = [3, 17, 42, 0, 9, 9, 31, 48, 5, 22, 11, 7, 30, 2]

    /// Collects every boundary's rows from a dense forward pass, keyed by `SubBlockBoundary.index`.
    static func denseStates(_ model: LlamaModel, tokens: [Int], precision: ActivationPrecision, batch: Int)
        -> [Int: [Float]]
    {
        let session = LlamaSession(
            model: model, capacity: tokens.count, batchCapacity: batch, precision: precision,
            pool: ThreadPool(threads: 2))
        var states: [Int: [Float]] = [:]
        session.forward(
            tokens, logits: .none,
            observer: { layer, point, rows, _ in
                states[SubBlockBoundary(layer: layer, point: point).index, default: []] += Array(rows)
            })
        return states
    }

    static func fullLogits(
        _ model: LlamaModel, tokens: [Int], mask: SubBlockMask, precision: ActivationPrecision, batch: Int
    ) -> [[Float]] {
        let session = LlamaSession(
            model: model, capacity: tokens.count, batchCapacity: batch, precision: precision, mask: mask,
            pool: ThreadPool(threads: 2))
        var rows: [[Float]] = []
        session.forward(tokens, logits: .all, onLogits: { _, logits in rows.append(Array(logits)) })
        return rows
    }

    static func resumedLogits(
        _ model: LlamaModel, states: [Float], boundary: SubBlockBoundary, count: Int, mask: SubBlockMask,
        precision: ActivationPrecision, batch: Int
    ) -> [[Float]] {
        let session = LlamaSession(
            model: model, capacity: count, batchCapacity: batch, precision: precision, mask: mask,
            pool: ThreadPool(threads: 2))
        var rows: [[Float]] = []
        states.withUnsafeBufferPointer { states in
            session.forward(
                resumingAt: boundary, states: states.baseAddress!, count: count, logits: .all,
                onLogits: { row, logits in
                    #expect(row == rows.count)
                    rows.append(Array(logits))
                })
        }
        #expect(session.position == count)
        return rows
    }

    /// Returns a mask that keeps every sub-block before `boundary` and drops the one right after it.
    static func mask(droppingAt boundary: Int, layers: Int) -> SubBlockMask {
        var mask = SubBlockMask.dense(layers: layers)
        if boundary < 2 * layers {
            if boundary % 2 == 0 {
                mask.attentionKept[boundary / 2] = false
            } else {
                mask.mlpKept[boundary / 2] = false
            }
        }
        return mask
    }

    @Test func boundaryNumbering() {
        #expect(SubBlockBoundary(layer: 3, point: .layerInput).index == 6)
        #expect(SubBlockBoundary(layer: 3, point: .afterAttention).index == 7)
        #expect(SubBlockBoundary(layer: 30, point: .finalOutput).index == 60)
        #expect(SubBlockBoundary.count(layers: 30) == 61)
        var mask = SubBlockMask.dense(layers: 4)
        #expect(SubBlockBoundary.firstDropped(in: mask) == nil)
        mask.mlpKept[2] = false
        #expect(SubBlockBoundary.firstDropped(in: mask)?.index == 5)
        mask.attentionKept[2] = false
        #expect(SubBlockBoundary.firstDropped(in: mask)?.index == 4)
        mask.mlpKept[0] = false
        #expect(SubBlockBoundary.firstDropped(in: mask)?.index == 1)
    }

    @Test func tinyResumeMatchesFullForwardAtEveryBoundary() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-resume-\(UUID()).gguf").path
        try TinyLlama(seed: 21).write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try LlamaModel(path: path)
        let layers = TinyLlama.layers
        let states = Self.denseStates(model, tokens: Self.tokens, precision: .f32, batch: 5)
        #expect(states.count == SubBlockBoundary.count(layers: layers))

        for boundary in 0...(2 * layers) {
            for mask in [SubBlockMask.dense(layers: layers), Self.mask(droppingAt: boundary, layers: layers)] {
                let expected = Self.fullLogits(model, tokens: Self.tokens, mask: mask, precision: .f32, batch: 5)
                let actual = Self.resumedLogits(
                    model, states: states[boundary]!, boundary: SubBlockBoundary(index: boundary),
                    count: Self.tokens.count, mask: mask, precision: .f32, batch: 5)
                #expect(actual == expected, "boundary \(boundary), mask \(mask)")
            }
        }
    }

    @Test(arguments: [ActivationPrecision.q8, .f32])
    func smolLM2ResumeMatchesFullForward(precision: ActivationPrecision) throws {
        let model = try LlamaModel(path: try TestAssets.require(TestAssets.smolLM2Path))
        // 80 tokens in batches of 64 and 16, so both attention paths (matrix products from 64 rows on) run.
        let tokens = Array(repeating: LlamaSessionTests.tokens, count: 5).flatMap { $0 }
        let states = Self.denseStates(model, tokens: tokens, precision: precision, batch: 64)
        for boundary in [0, 1, 17, 40, 59, 60] {
            let mask = Self.mask(droppingAt: boundary, layers: 30)
            let expected = Self.fullLogits(model, tokens: tokens, mask: mask, precision: precision, batch: 64)
            let actual = Self.resumedLogits(
                model, states: states[boundary]!, boundary: SubBlockBoundary(index: boundary), count: tokens.count,
                mask: mask, precision: precision, batch: 64)
            #expect(actual.count == tokens.count)
            let difference = zip(actual, expected).map { maxAbsoluteDifference($0, $1) }.max() ?? .infinity
            #expect(difference == 0, "boundary \(boundary): max |Δlogit| = \(difference)")
        }
    }
}
