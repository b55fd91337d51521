import ElideTensor
import Foundation
import Testing

@testable import ElideFormats

/// Checks against the real SmolLM2-135M-Instruct Q4_1 file that `scripts/fetch-assets` downloads.
@Suite struct GGUFModelTests {
    static let modelName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    /// `${ELIDE_HOME:-~/.cache/elide}/models/SmolLM2-135M-Instruct.Q4_1.gguf`.
    static var modelPath: String {
        let environment = ProcessInfo.processInfo.environment
        let home =
            environment["ELIDE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "\(NSHomeDirectory())/.cache/elide"
        return "\(home)/models/\(modelName)"
    }

    /// Opens the model, or fails the test with the command that downloads it.
    static func openModel() throws -> GGUFFile {
        let path = modelPath
        try #require(
            FileManager.default.fileExists(atPath: path),
            "\(path) is missing: run scripts/fetch-assets (or `make assets`) to download and verify it")
        return try GGUFFile(path: path)
    }

    @Test func smolLM2StructureMatches() throws {
        let file = try Self.openModel()

        #expect(file.version == 3)
        #expect(file.alignment == 32)
        #expect(file.metadata["general.architecture"]?.stringValue == "llama")
        #expect(file.metadata["llama.block_count"]?.intValue == 30)
        #expect(file.metadata["llama.embedding_length"]?.intValue == 576)
        #expect(file.metadata["llama.attention.head_count"]?.intValue == 9)
        #expect(file.metadata["llama.attention.head_count_kv"]?.intValue == 3)
        #expect(file.metadata["llama.feed_forward_length"]?.intValue == 1536)
        #expect(file.metadata["llama.rope.freq_base"]?.floatValue == 100_000)
        #expect(file.metadata["tokenizer.ggml.add_bos_token"]?.boolValue == false)
        #expect(file.metadataKeys.count == 33)
        #expect(file.metadataKeys.first == "general.architecture")

        let tokens = try #require(file.metadata["tokenizer.ggml.tokens"]?.stringArray)
        #expect(tokens.count == 49152)
        #expect(tokens.first == "<|endoftext|>")
        #expect(file.metadata["tokenizer.ggml.merges"]?.stringArray?.count == 48900)
        #expect(file.metadata["tokenizer.ggml.merges"]?.stringArray?.first == "Ġ t")
        #expect(file.metadata["tokenizer.ggml.token_type"]?.intArray?.count == 49152)
    }

    @Test func smolLM2TensorsMatch() throws {
        let file = try Self.openModel()

        #expect(file.tensors.count == 272)
        var countsByType: [GGMLType: Int] = [:]
        for tensor in file.tensors {
            countsByType[tensor.type, default: 0] += 1
        }
        #expect(countsByType == [.f32: 61, .q4_1: 210, .q8_0: 1])

        let embedding = try #require(file.tensor(named: "token_embd.weight"))
        #expect(embedding.type == .q8_0)
        #expect(embedding.dimensions == [576, 49152])
        #expect(embedding.offset == file.dataOffset)
        #expect(embedding.byteCount == 576 * 49152 / 32 * 34)

        let query = try #require(file.tensor(named: "blk.29.attn_q.weight"))
        #expect(query.type == .q4_1)
        #expect(query.dimensions == [576, 576])
        #expect(file.tensor(named: "output.weight") == nil)  // the output head is tied to the embedding

        let lastEnd = try #require(file.tensors.map { $0.offset + $0.byteCount }.max())
        #expect(lastEnd <= file.fileSize)
        #expect(file.fileSize == 98_362_432)
    }

    @Test func smolLM2ReportSummarisesArrays() throws {
        let report = try Self.openModel().inspectReport()
        #expect(report.contains("[49152 strings]"))
        #expect(report.contains("[48900 strings]"))
        #expect(report.contains("[49152 int32]"))
        #expect(report.contains("33 metadata keys, 272 tensors (F32 61, Q4_1 210, Q8_0 1)"))
        #expect(report.split(separator: "\n").count < 33 + 272 + 20)
    }

    /// GGUFWriter pads as the tool that wrote this file did (after every tensor), so a copy is byte-identical.
    @Test func smolLM2RewriteIsByteIdentical() throws {
        let file = try Self.openModel()
        let rewritten = try GGUFWriter(contentsOf: file).serialized()
        let original = try #require(FileManager.default.contents(atPath: file.path))
        #expect(rewritten.count == original.count)
        #expect(Data(rewritten) == original)
    }
}
