import ElideFormats
import ElideTensor

/// A LLaMA-architecture language model whose weights stay in the memory-mapped GGUF file, in the
/// file's own block formats. Read-only after loading, so one instance serves many sessions and threads.
public final class LlamaModel: @unchecked Sendable {
    /// Weights of one transformer block.
    public struct Layer: @unchecked Sendable {
        public let attentionNorm: [Float]
        public let query: QuantizedMatrix
        public let key: QuantizedMatrix
        public let value: QuantizedMatrix
        public let attentionOutput: QuantizedMatrix
        public let feedForwardNorm: [Float]
        public let gate: QuantizedMatrix
        public let up: QuantizedMatrix
        public let down: QuantizedMatrix
    }

    public let configuration: LlamaConfiguration
    public let file: GGUFFile
    public let tokenEmbedding: QuantizedMatrix
    public let outputNorm: [Float]
    /// The output head; the same matrix as `tokenEmbedding` when the file ties them (no `output.weight`).
    public let output: QuantizedMatrix
    public let layers: [Layer]

    public convenience init(path: String) throws {
        try self.init(file: GGUFFile(path: path))
    }

    public init(file: GGUFFile) throws {
        let configuration = try LlamaConfiguration(gguf: file)
        self.configuration = configuration
        self.file = file

        let width = configuration.embeddingLength
        let kvWidth = configuration.kvDimension
        let ffn = configuration.feedForwardLength

        tokenEmbedding = try Self.matrix(file, "token_embd.weight", rows: configuration.vocabularySize, columns: width)
        outputNorm = try Self.vector(file, "output_norm.weight", count: width)
        if file.tensor(named: "output.weight") != nil {
            output = try Self.matrix(file, "output.weight", rows: configuration.vocabularySize, columns: width)
        } else {
            output = tokenEmbedding
        }

        var layers: [Layer] = []
        for index in 0..<configuration.blockCount {
            let prefix = "blk.\(index)."
            layers.append(
                Layer(
                    attentionNorm: try Self.vector(file, prefix + "attn_norm.weight", count: width),
                    query: try Self.matrix(file, prefix + "attn_q.weight", rows: width, columns: width),
                    key: try Self.matrix(file, prefix + "attn_k.weight", rows: kvWidth, columns: width),
                    value: try Self.matrix(file, prefix + "attn_v.weight", rows: kvWidth, columns: width),
                    attentionOutput: try Self.matrix(file, prefix + "attn_output.weight", rows: width, columns: width),
                    feedForwardNorm: try Self.vector(file, prefix + "ffn_norm.weight", count: width),
                    gate: try Self.matrix(file, prefix + "ffn_gate.weight", rows: ffn, columns: width),
                    up: try Self.matrix(file, prefix + "ffn_up.weight", rows: ffn, columns: width),
                    down: try Self.matrix(file, prefix + "ffn_down.weight", rows: width, columns: ffn)))
        }
        self.layers = layers
    }

    /// Looks up a weight matrix and checks its shape: ggml stores `columns` as ne0 and `rows` as ne1.
    private static func matrix(_ file: GGUFFile, _ name: String, rows: Int, columns: Int) throws -> QuantizedMatrix {
        guard let info = file.tensor(named: name) else {
            throw ModelError(path: file.path, "missing tensor \(name)")
        }
        guard info.dimensions == [columns, rows] else {
            throw ModelError(
                path: file.path, "tensor \(name) has shape \(info.dimensions); expected [\(columns), \(rows)]")
        }
        let bytes = file.data(for: info)
        return QuantizedMatrix(type: info.type, rows: rows, columns: columns, data: bytes.baseAddress!)
    }

    /// Reads a norm weight vector into Float32, whatever its stored type.
    private static func vector(_ file: GGUFFile, _ name: String, count: Int) throws -> [Float] {
        guard let info = file.tensor(named: name) else {
            throw ModelError(path: file.path, "missing tensor \(name)")
        }
        guard info.dimensions == [count] else {
            throw ModelError(path: file.path, "tensor \(name) has shape \(info.dimensions); expected [\(count)]")
        }
        let bytes = file.data(for: info)
        let matrix = QuantizedMatrix(type: info.type, rows: 1, columns: count, data: bytes.baseAddress!)
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { matrix.dequantizeRow(0, into: $0.baseAddress!) }
        return values
    }
}
