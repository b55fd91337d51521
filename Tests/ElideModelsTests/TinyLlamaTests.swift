import ElideFormats
import ElideSupport
import ElideTensor
import Foundation
import Testing

@testable import ElideModels

/// A tiny random LLaMA written with `GGUFWriter` and run against a plain Double-precision reference
/// forward pass written here, so every step of `LlamaSession` is checked on shapes no real file has.
struct TinyLlama {
    static let layers = 2
    static let width = 64
    static let heads = 4
    static let kvHeads = 2
    static let feedForward = 96
    static let vocabulary = 50
    static let ropeBase: Float = 10_000
    static let epsilon: Float = 1e-5

    var tensors: [String: [Float]] = [:]

    init(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        func random(_ count: Int, scale: Float) -> [Float] {
            (0..<count).map { _ in (generator.nextUnitFloat() * 2 - 1) * scale }
        }
        let kvWidth = Self.width / Self.heads * Self.kvHeads
        tensors["token_embd.weight"] = random(Self.vocabulary * Self.width, scale: 1)
        tensors["output_norm.weight"] = random(Self.width, scale: 0.5).map { $0 + 1 }
        for layer in 0..<Self.layers {
            let prefix = "blk.\(layer)."
            tensors[prefix + "attn_norm.weight"] = random(Self.width, scale: 0.5).map { $0 + 1 }
            tensors[prefix + "ffn_norm.weight"] = random(Self.width, scale: 0.5).map { $0 + 1 }
            tensors[prefix + "attn_q.weight"] = random(Self.width * Self.width, scale: 0.3)
            tensors[prefix + "attn_k.weight"] = random(kvWidth * Self.width, scale: 0.3)
            tensors[prefix + "attn_v.weight"] = random(kvWidth * Self.width, scale: 0.3)
            tensors[prefix + "attn_output.weight"] = random(Self.width * Self.width, scale: 0.2)
            tensors[prefix + "ffn_gate.weight"] = random(Self.feedForward * Self.width, scale: 0.2)
            tensors[prefix + "ffn_up.weight"] = random(Self.feedForward * Self.width, scale: 0.2)
            tensors[prefix + "ffn_down.weight"] = random(Self.width * Self.feedForward, scale: 0.2)
        }
    }

    /// Writes the model as an F32 GGUF file with tied embeddings.
    func write(to path: String) throws {
        var writer = GGUFWriter()
        writer.setMetadata("general.architecture", .string("llama"))
        writer.setMetadata("llama.block_count", .uint32(UInt32(Self.layers)))
        writer.setMetadata("llama.embedding_length", .uint32(UInt32(Self.width)))
        writer.setMetadata("llama.feed_forward_length", .uint32(UInt32(Self.feedForward)))
        writer.setMetadata("llama.attention.head_count", .uint32(UInt32(Self.heads)))
        writer.setMetadata("llama.attention.head_count_kv", .uint32(UInt32(Self.kvHeads)))
        writer.setMetadata("llama.context_length", .uint32(64))
        writer.setMetadata("llama.attention.layer_norm_rms_epsilon", .float32(Self.epsilon))
        writer.setMetadata("llama.rope.freq_base", .float32(Self.ropeBase))
        writer.setMetadata("llama.vocab_size", .uint32(UInt32(Self.vocabulary)))
        for name in tensors.keys.sorted() {
            let values = tensors[name]!
            let dimensions = Self.dimensions(of: name)
            try values.withUnsafeBytes { bytes in
                try writer.addTensor(name: name, dimensions: dimensions, type: .f32, bytes: bytes)
            }
        }
        try writer.write(to: path)
    }

    /// ggml dimensions (input width first) of each tensor.
    static func dimensions(of name: String) -> [Int] {
        let kvWidth = width / heads * kvHeads
        if name.hasSuffix("norm.weight") { return [width] }
        if name == "token_embd.weight" { return [width, vocabulary] }
        if name.hasSuffix("attn_k.weight") || name.hasSuffix("attn_v.weight") { return [width, kvWidth] }
        if name.hasSuffix("ffn_gate.weight") || name.hasSuffix("ffn_up.weight") { return [width, feedForward] }
        if name.hasSuffix("ffn_down.weight") { return [feedForward, width] }
        return [width, width]
    }

    // MARK: Reference forward pass (Double, direct formulas)

    func linear(_ name: String, _ x: [Double], rows: Int) -> [Double] {
        let weights = tensors[name]!
        let columns = x.count
        return (0..<rows).map { row in
            (0..<columns).reduce(0.0) { $0 + Double(weights[row * columns + $1]) * x[$1] }
        }
    }

    func rmsNorm(_ x: [Double], _ name: String) -> [Double] {
        let weights = tensors[name]!
        let meanSquare = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
        let scale = 1 / (meanSquare + Double(Self.epsilon)).squareRoot()
        return x.indices.map { x[$0] * scale * Double(weights[$0]) }
    }

    /// Rotates each adjacent pair (2i, 2i+1) of every head by position · base^(-2i/headDim).
    func rope(_ x: [Double], heads: Int, position: Int) -> [Double] {
        let headDimension = Self.width / Self.heads
        var result = x
        for head in 0..<heads {
            for pair in 0..<(headDimension / 2) {
                let angle = Double(position) * pow(Double(Self.ropeBase), -2 * Double(pair) / Double(headDimension))
                let index = head * headDimension + 2 * pair
                let (a, b) = (x[index], x[index + 1])
                result[index] = a * cos(angle) - b * sin(angle)
                result[index + 1] = a * sin(angle) + b * cos(angle)
            }
        }
        return result
    }

    /// Logits of every position for `tokens`, with the sub-blocks `mask` drops skipped.
    func referenceLogits(_ tokens: [Int], mask: SubBlockMask) -> [[Double]] {
        let headDimension = Self.width / Self.heads
        let kvWidth = headDimension * Self.kvHeads
        let embedding = tensors["token_embd.weight"]!
        var hidden = tokens.map { token in (0..<Self.width).map { Double(embedding[token * Self.width + $0]) } }

        for layer in 0..<Self.layers {
            let prefix = "blk.\(layer)."
            if mask.attentionKept[layer] {
                let normed = hidden.map { rmsNorm($0, prefix + "attn_norm.weight") }
                let queries = normed.enumerated().map {
                    rope(
                        linear(prefix + "attn_q.weight", $0.element, rows: Self.width), heads: Self.heads,
                        position: $0.offset)
                }
                let keys = normed.enumerated().map {
                    rope(
                        linear(prefix + "attn_k.weight", $0.element, rows: kvWidth), heads: Self.kvHeads,
                        position: $0.offset)
                }
                let values = normed.map { linear(prefix + "attn_v.weight", $0, rows: kvWidth) }
                for position in tokens.indices {
                    var attended = [Double](repeating: 0, count: Self.width)
                    for head in 0..<Self.heads {
                        let kvHead = head / (Self.heads / Self.kvHeads)
                        let scores = (0...position).map { other in
                            (0..<headDimension).reduce(0.0) {
                                $0 + queries[position][head * headDimension + $1]
                                    * keys[other][kvHead * headDimension + $1]
                            } / Double(headDimension).squareRoot()
                        }
                        let maximum = scores.max()!
                        let weights = scores.map { exp($0 - maximum) }
                        let total = weights.reduce(0, +)
                        for other in 0...position {
                            for dimension in 0..<headDimension {
                                attended[head * headDimension + dimension] +=
                                    weights[other] / total * values[other][kvHead * headDimension + dimension]
                            }
                        }
                    }
                    let projected = linear(prefix + "attn_output.weight", attended, rows: Self.width)
                    hidden[position] = zip(hidden[position], projected).map(+)
                }
            }
            if mask.mlpKept[layer] {
                for position in tokens.indices {
                    let normed = rmsNorm(hidden[position], prefix + "ffn_norm.weight")
                    let gate = linear(prefix + "ffn_gate.weight", normed, rows: Self.feedForward)
                    let up = linear(prefix + "ffn_up.weight", normed, rows: Self.feedForward)
                    let activated = zip(gate, up).map { $0 / (1 + exp(-$0)) * $1 }
                    let down = linear(prefix + "ffn_down.weight", activated, rows: Self.width)
                    hidden[position] = zip(hidden[position], down).map(+)
                }
            }
        }
        return hidden.map { state in
            linear("token_embd.weight", rmsNorm(state, "output_norm.weight"), rows: Self.vocabulary)
        }
    }
}

@Suite struct TinyLlamaTests {
    static let tokens = [3, 17, 42, 0, 9, 9, 31, 48, 5, 22, 11]

    func loadTiny(seed: UInt64) throws -> (TinyLlama, LlamaModel) {
        let tiny = TinyLlama(seed: seed)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-llama-\(UUID()).gguf").path
        try tiny.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return (tiny, try LlamaModel(path: path))
    }

    func logits(_ model: LlamaModel, mask: SubBlockMask, threads: Int, batch: Int) -> [[Float]] {
        let session = LlamaSession(
            model: model, capacity: 32, batchCapacity: batch, precision: .f32, mask: mask,
            pool: ThreadPool(threads: threads))
        var rows: [[Float]] = []
        session.forward(Self.tokens, logits: .all, onLogits: { _, logits in rows.append(Array(logits)) })
        return rows
    }

    @Test(arguments: [(1, 32), (2, 32), (2, 4), (1, 1)])
    func forwardMatchesReference(threads: Int, batch: Int) throws {
        let (tiny, model) = try loadTiny(seed: 11)
        let mask = SubBlockMask.dense(layers: TinyLlama.layers)
        let expected = tiny.referenceLogits(Self.tokens, mask: mask)
        let actual = logits(model, mask: mask, threads: threads, batch: batch)
        #expect(actual.count == Self.tokens.count)
        for position in Self.tokens.indices {
            let error = zip(actual[position], expected[position]).map { abs(Double($0) - $1) }.max()!
            #expect(error < 1e-3, "position \(position): max |Δlogit| = \(error)")
        }
    }

    @Test func maskedForwardMatchesReference() throws {
        let (tiny, model) = try loadTiny(seed: 12)
        var mask = SubBlockMask.dense(layers: TinyLlama.layers)
        mask.attentionKept[1] = false
        mask.mlpKept[0] = false
        let expected = tiny.referenceLogits(Self.tokens, mask: mask)
        let actual = logits(model, mask: mask, threads: 2, batch: 32)
        for position in Self.tokens.indices {
            let error = zip(actual[position], expected[position]).map { abs(Double($0) - $1) }.max()!
            #expect(error < 1e-3, "position \(position): max |Δlogit| = \(error)")
        }
    }

    @Test func tiedOutputHeadUsesEmbedding() throws {
        let (_, model) = try loadTiny(seed: 13)
        #expect(model.output.data == model.tokenEmbedding.data)
        #expect(model.configuration.vocabularySize == TinyLlama.vocabulary)
    }

    @Test func missingTensorIsNamedInError() throws {
        var tiny = TinyLlama(seed: 14)
        tiny.tensors["blk.1.ffn_up.weight"] = nil
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-missing-\(UUID()).gguf").path
        try tiny.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            try LlamaModel(path: path)
        } throws: { error in
            "\(error)".contains("missing tensor blk.1.ffn_up.weight") && "\(error)".contains(path)
        }
    }
}
