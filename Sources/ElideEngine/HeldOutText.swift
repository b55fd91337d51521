import ElideFormats
import ElideModels
import ElideTensor

/// The held-out evaluation tokens: the first `tokenCount` tokens of the evaluation documents.
///
/// Each document is tokenized on its own (no BOS, special tokens not parsed) and the token lists are
/// concatenated in the order given, with no separator, before the first `tokenCount` are kept. A
/// document is only read when the ones before it hold fewer tokens than requested. With the default
/// 16,384 tokens, all of them come from *Pride and Prejudice*.
public struct HeldOutText: Sendable {
    /// Tokens scored by default.
    public static let defaultTokenCount = 16_384

    public let tokens: [Int]
    /// Names of the documents the tokens come from, in order.
    public let documentNames: [String]

    /// Takes the first `tokenCount` tokens of `documents` concatenated; throws if they contain fewer.
    public init(documents: [(name: String, tokens: [Int])], tokenCount: Int) throws {
        guard tokenCount >= 2 else {
            throw CalibrationError("the held-out token count is \(tokenCount); at least 2 tokens are needed")
        }
        var tokens: [Int] = []
        var names: [String] = []
        for document in documents where tokens.count < tokenCount {
            tokens += document.tokens.prefix(tokenCount - tokens.count)
            names.append(document.name)
        }
        guard tokens.count == tokenCount else {
            let all = documents.map(\.name).joined(separator: ", ")
            throw CalibrationError(
                "the held-out documents [\(all)] contain \(tokens.count) tokens, fewer than the \(tokenCount) "
                    + "requested; pass more text or lower the token count")
        }
        self.tokens = tokens
        self.documentNames = names
    }

    /// Reads and tokenizes UTF-8 files in order until `tokenCount` tokens are collected.
    public static func load(paths: [String], tokenizer: BPETokenizer, tokenCount: Int) throws -> HeldOutText {
        var documents: [(name: String, tokens: [Int])] = []
        var collected = 0
        for path in paths where collected < tokenCount {
            let tokens = tokenizer.encode(try CalibrationSet.readText(path: path), parseSpecial: false)
            documents.append((path, tokens))
            collected += tokens.count
        }
        return try HeldOutText(documents: documents, tokenCount: tokenCount)
    }

    /// Scores the tokens with `model` under `mask` in consecutive windows of `context` tokens, every
    /// prediction inside a window counted (`PerplexityProtocol.elide`).
    public func perplexity(
        model: LlamaModel, mask: SubBlockMask?, precision: ActivationPrecision, context: Int, pool: ThreadPool
    ) throws -> PerplexityResult {
        let evaluator = PerplexityEvaluator(model: model, precision: precision, mask: mask, pool: pool)
        return try evaluator.evaluate(tokens: tokens, context: context, protocol: .elide, bosID: nil)
    }
}
