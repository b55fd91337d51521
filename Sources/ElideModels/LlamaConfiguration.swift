import ElideFormats

/// Hyperparameters of a LLaMA-architecture model, read from GGUF metadata (`llama.*` keys).
public struct LlamaConfiguration: Sendable, Equatable {
    public var blockCount: Int
    public var embeddingLength: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var feedForwardLength: Int
    public var vocabularySize: Int
    public var contextLength: Int
    public var rmsEpsilon: Float
    public var ropeBase: Float

    public var headDimension: Int { embeddingLength / headCount }
    public var kvDimension: Int { headDimension * kvHeadCount }

    public init(
        blockCount: Int, embeddingLength: Int, headCount: Int, kvHeadCount: Int, feedForwardLength: Int,
        vocabularySize: Int, contextLength: Int, rmsEpsilon: Float, ropeBase: Float
    ) {
        self.blockCount = blockCount
        self.embeddingLength = embeddingLength
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.feedForwardLength = feedForwardLength
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.rmsEpsilon = rmsEpsilon
        self.ropeBase = ropeBase
    }

    /// Reads the configuration from `file`'s metadata; throws `ModelError` naming the missing or invalid key.
    public init(gguf file: GGUFFile) throws {
        let architecture = file.metadata["general.architecture"]?.stringValue ?? "(missing)"
        guard architecture == "llama" else {
            throw ModelError(
                path: file.path,
                "unsupported architecture '\(architecture)' in general.architecture; only 'llama' models load")
        }

        func integer(_ key: String) throws -> Int {
            guard let value = file.metadata[key]?.intValue else {
                throw ModelError(path: file.path, "missing or non-integer metadata key \(key)")
            }
            guard value > 0 else {
                throw ModelError(path: file.path, "metadata key \(key) is \(value); expected a positive integer")
            }
            return value
        }

        blockCount = try integer("llama.block_count")
        embeddingLength = try integer("llama.embedding_length")
        headCount = try integer("llama.attention.head_count")
        kvHeadCount = (try? integer("llama.attention.head_count_kv")) ?? headCount
        feedForwardLength = try integer("llama.feed_forward_length")
        contextLength = (try? integer("llama.context_length")) ?? 2048
        rmsEpsilon = Float(file.metadata["llama.attention.layer_norm_rms_epsilon"]?.floatValue ?? 1e-5)
        ropeBase = Float(file.metadata["llama.rope.freq_base"]?.floatValue ?? 10_000)
        if let size = file.metadata["llama.vocab_size"]?.intValue {
            vocabularySize = size
        } else if let tokens = file.metadata["tokenizer.ggml.tokens"]?.stringArray {
            vocabularySize = tokens.count
        } else {
            throw ModelError(
                path: file.path, "cannot tell the vocabulary size: no llama.vocab_size or tokenizer.ggml.tokens")
        }

        guard embeddingLength % headCount == 0, headCount % kvHeadCount == 0, headDimension % 2 == 0 else {
            throw ModelError(
                path: file.path,
                "inconsistent attention shape: width \(embeddingLength), \(headCount) heads, \(kvHeadCount) KV heads")
        }
    }
}

/// A model file that cannot be loaded as the expected architecture.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
