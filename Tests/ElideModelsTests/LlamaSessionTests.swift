import ElideFormats
import ElideTensor
import Testing

@testable import ElideModels

/// Consistency properties of the forward pass on the real SmolLM2 file, independent of golden values.
@Suite(.serialized) struct LlamaSessionTests {
    static let tokens = [504, 3575, 282, 4649, 314, 253, 1345, 2434, 30, 378, 2316, 282, 1345, 314, 4649, 28]

    func model() throws -> LlamaModel {
        try LlamaModel(path: try TestAssets.require(TestAssets.smolLM2Path))
    }

    @Test func configurationMatchesSmolLM2() throws {
        let configuration = try model().configuration
        #expect(configuration.blockCount == 30)
        #expect(configuration.embeddingLength == 576)
        #expect(configuration.headCount == 9)
        #expect(configuration.kvHeadCount == 3)
        #expect(configuration.feedForwardLength == 1536)
        #expect(configuration.vocabularySize == 49152)
        #expect(configuration.ropeBase == 100_000)
    }

    @Test(arguments: [ActivationPrecision.f32, .q8])
    func prefillMatchesTokenByTokenDecode(precision: ActivationPrecision) throws {
        let model = try model()
        let pool = ThreadPool(threads: 2)
        let batched = LlamaSession(model: model, capacity: 32, precision: precision, pool: pool)
        var prefillLogits: [[Float]] = []
        batched.forward(Self.tokens, logits: .all, onLogits: { _, logits in prefillLogits.append(Array(logits)) })

        let stepwise = LlamaSession(model: model, capacity: 32, precision: precision, pool: pool)
        for (index, token) in Self.tokens.enumerated() {
            let logits = stepwise.logits(after: [token])
            let difference = maxAbsoluteDifference(logits, prefillLogits[index])
            // Batched and single-token products sum in different orders (and prefill may use BLAS).
            #expect(difference < 2e-2, "position \(index): max |Δlogit| = \(difference)")
        }
        #expect(stepwise.position == Self.tokens.count)
    }

    @Test func chunkedPrefillMatchesSinglePrefill() throws {
        let model = try model()
        let pool = ThreadPool(threads: 2)
        let whole = LlamaSession(model: model, capacity: 32, precision: .f32, pool: pool)
        let chunked = LlamaSession(model: model, capacity: 32, batchCapacity: 5, precision: .f32, pool: pool)
        let expected = whole.logits(after: Self.tokens)
        let actual = chunked.logits(after: Self.tokens)
        #expect(maxAbsoluteDifference(expected, actual) < 2e-2)
    }

    @Test func droppedSubBlocksLeaveResidualUnchanged() throws {
        let model = try model()
        var mask = SubBlockMask.dense(layers: 30)
        mask.attentionKept[4] = false
        mask.mlpKept[4] = false
        mask.mlpKept[7] = false
        let session = LlamaSession(
            model: model, capacity: 32, precision: .f32, mask: mask, pool: ThreadPool(threads: 1))
        var states: [String: [Float]] = [:]
        session.forward(
            Array(Self.tokens[0..<4]), logits: .none,
            observer: { layer, point, buffer, _ in states["\(layer)-\(point)"] = Array(buffer) })
        #expect(states["4-layerInput"] == states["4-afterAttention"])
        #expect(states["4-afterAttention"] == states["5-layerInput"])
        #expect(states["7-afterAttention"] == states["8-layerInput"])
        #expect(states["6-afterAttention"] != states["7-layerInput"])
        #expect(states["30-finalOutput"]?.count == 4 * 576)
    }

    @Test func maskChangesPrediction() throws {
        let model = try model()
        let pool = ThreadPool(threads: 2)
        let dense = LlamaSession(model: model, capacity: 32, precision: .f32, pool: pool)
        var mask = SubBlockMask.dense(layers: 30)
        for layer in 10..<20 { mask.mlpKept[layer] = false }
        let pruned = LlamaSession(model: model, capacity: 32, precision: .f32, mask: mask, pool: pool)
        let difference = maxAbsoluteDifference(dense.logits(after: Self.tokens), pruned.logits(after: Self.tokens))
        #expect(difference > 0.5)
    }
}

func maxAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var maximum: Float = 0
    for index in a.indices { maximum = max(maximum, abs(a[index] - b[index])) }
    return maximum
}
