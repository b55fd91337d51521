import ElideEngine
import ElideFormats
import ElideTensor
import Foundation
import Testing

@testable import ElideModels

/// An exported file must run, in any reader, exactly as the original runs under the plan.
@Suite(.serialized) struct GGUFExporterTests {
    static func temporaryPath(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID()).gguf").path
    }

    static func logits(_ model: LlamaModel, tokens: [Int], mask: SubBlockMask?, precision: ActivationPrecision)
        -> [[Float]]
    {
        let session = LlamaSession(
            model: model, capacity: tokens.count, precision: precision, mask: mask, pool: ThreadPool(threads: 2))
        var rows: [[Float]] = []
        session.forward(tokens, logits: .all, onLogits: { _, logits in rows.append(Array(logits)) })
        return rows
    }

    @Test(arguments: [
        CompressionPlan(layers: 2, attentionDropped: [0, 1], mlpDropped: [0]),
        CompressionPlan(layers: 2, attentionDropped: [0], mlpDropped: [1]),
        CompressionPlan(layers: 2, attentionDropped: [1], mlpDropped: [1]),
    ])
    func tinyExportRunsLikeThePlan(plan: CompressionPlan) throws {
        let source = Self.temporaryPath("tiny-export-source")
        let output = Self.temporaryPath("tiny-export-output")
        defer {
            try? FileManager.default.removeItem(atPath: source)
            try? FileManager.default.removeItem(atPath: output)
        }
        try TinyLlama(seed: 41).write(to: source)
        let original = try GGUFFile(path: source)
        let summary = try GGUFExporter.export(original, plan: plan, to: output)

        let removedLayers = Set(plan.attentionDropped).intersection(plan.mlpDropped).count
        let exported = try GGUFFile(path: output)
        #expect(exported.metadata["llama.block_count"] == .uint32(UInt32(2 - removedLayers)))
        #expect(exported.tensors.count == original.tensors.count - 9 * removedLayers)
        #expect(summary.tensorCount == exported.tensors.count)
        #expect(summary.layersAfter == 2 - removedLayers)
        #expect(exported.metadata["elide.compression_plan"]?.stringValue?.contains("attention_dropped") == true)
        let zeroed = summary.zeroedTensors
        #expect(zeroed.allSatisfy { $0.hasSuffix("attn_output.weight") || $0.hasSuffix("ffn_down.weight") })
        for name in zeroed {
            let info = try #require(exported.tensor(named: name))
            #expect(exported.data(for: info).allSatisfy { $0 == 0 }, "\(name) should be zeros")
        }

        let tokens = [3, 17, 42, 0, 9, 9, 31, 48]
        let expected = Self.logits(try LlamaModel(file: original), tokens: tokens, mask: plan.mask, precision: .f32)
        let actual = Self.logits(try LlamaModel(file: exported), tokens: tokens, mask: nil, precision: .f32)
        #expect(actual == expected)
    }

    @Test func removedLayersAreRenumbered() throws {
        let source = Self.temporaryPath("tiny-renumber-source")
        let output = Self.temporaryPath("tiny-renumber-output")
        defer {
            try? FileManager.default.removeItem(atPath: source)
            try? FileManager.default.removeItem(atPath: output)
        }
        try TinyLlama(seed: 42).write(to: source)
        let original = try GGUFFile(path: source)
        let plan = CompressionPlan(layers: 2, attentionDropped: [0], mlpDropped: [0])
        try GGUFExporter.export(original, plan: plan, to: output)
        let exported = try GGUFFile(path: output)
        #expect(exported.tensors.allSatisfy { !$0.name.hasPrefix("blk.1.") })
        for suffix in ["attn_q.weight", "ffn_down.weight", "attn_norm.weight"] {
            let before = try #require(original.tensor(named: "blk.1.\(suffix)"))
            let after = try #require(exported.tensor(named: "blk.0.\(suffix)"))
            #expect(Array(original.data(for: before)) == Array(exported.data(for: after)), "\(suffix)")
            #expect(before.dimensions == after.dimensions)
            #expect(before.type == after.type)
        }
    }

    @Test func invalidPlansAreRejected() throws {
        let source = Self.temporaryPath("tiny-invalid-plan")
        defer { try? FileManager.default.removeItem(atPath: source) }
        try TinyLlama(seed: 43).write(to: source)
        let file = try GGUFFile(path: source)
        #expect {
            try GGUFExporter.makeWriter(from: file, plan: CompressionPlan(layers: 3))
        } throws: { "\($0)".contains("3 layers") }
        #expect {
            try GGUFExporter.makeWriter(from: file, plan: CompressionPlan(layers: 2, attentionDropped: [2]))
        } throws: { "\($0)".contains("layer 2") }
        #expect {
            try GGUFExporter.makeWriter(
                from: file, plan: CompressionPlan(layers: 2, attentionDropped: [0, 1], mlpDropped: [0, 1]))
        } throws: { "\($0)".contains("nothing would be left") }
    }

    @Test func smolLM2ExportMatchesPlanPerplexity() throws {
        let source = try GGUFFile(path: try TestAssets.require(TestAssets.smolLM2Path))
        let output = Self.temporaryPath("smollm2-export")
        defer { try? FileManager.default.removeItem(atPath: output) }
        // Layers 5 and 20 disappear. Attention 3 and 11 and MLP 8 and 27 become zeroed projections, which
        // the renumbering moves to layers 3, 10, 7 and 25.
        let plan = CompressionPlan(layers: 30, attentionDropped: [3, 5, 11, 20], mlpDropped: [5, 8, 20, 27])
        let summary = try GGUFExporter.export(source, plan: plan, to: output)
        let exported = try GGUFFile(path: output)
        let nonLayerTensors = source.tensors.filter { !$0.name.hasPrefix("blk.") }.count
        #expect(exported.tensors.count == nonLayerTensors + 9 * 28)
        #expect(exported.metadata["llama.block_count"]?.intValue == 28)
        #expect(summary.keptLayers == (0..<30).filter { $0 != 5 && $0 != 20 })
        #expect(
            Set(summary.zeroedTensors)
                == [
                    "blk.3.attn_output.weight", "blk.10.attn_output.weight", "blk.7.ffn_down.weight",
                    "blk.25.ffn_down.weight",
                ])
        #expect(exported.fileSize < source.fileSize)

        let tokens = Array(repeating: LlamaSessionTests.tokens, count: 6).flatMap { $0 }
        let pool = ThreadPool(threads: 2)
        for precision in [ActivationPrecision.q8, .f32] {
            let planned = try PerplexityEvaluator(
                model: try LlamaModel(file: source), precision: precision, mask: plan.mask, pool: pool
            ).evaluate(tokens: tokens, context: 48, protocol: .elide, bosID: nil)
            let compressed = try PerplexityEvaluator(
                model: try LlamaModel(file: exported), precision: precision, pool: pool
            ).evaluate(tokens: tokens, context: 48, protocol: .elide, bosID: nil)
            #expect(compressed.perplexity == planned.perplexity, "\(precision)")
            #expect(compressed.scoredTokens == planned.scoredTokens)
        }
    }
}
