import ElideFormats
import ElideModels
import ElideTensor

/// A check that the dense model predicts the held-out text sensibly before a search relies on it.
///
/// A broken setup, such as a tokenizer that does not belong to the model or a damaged file, shows as an
/// absurd dense perplexity, and every search built on such a model is meaningless. A dense perplexity
/// that is NaN, infinite or above `maximumPerplexity` therefore stops the job with the model file and
/// tokenizer named.
public enum DenseModelCheck {
    /// Highest acceptable dense perplexity. Healthy models score tens on book text: SmolLM2-135M
    /// (Q4_1) scored 23.2 on the first 16,384 tokens of *Pride and Prejudice* in windows of 1,024.
    public static let maximumPerplexity = 1000.0

    /// Describes the tokenizer stored in a GGUF file: its model and pre-tokenizer names and size.
    public static func tokenizerDescription(of file: GGUFFile) -> String {
        let model = file.metadata["tokenizer.ggml.model"]?.stringValue ?? "(missing tokenizer.ggml.model)"
        let pre = file.metadata["tokenizer.ggml.pre"]?.stringValue ?? "(missing tokenizer.ggml.pre)"
        let size = file.metadata["tokenizer.ggml.tokens"]?.arrayValue?.count
        return "\(model)/\(pre)" + (size.map { " with \($0) tokens" } ?? "")
    }

    /// Throws `DenseModelCheckError` when `perplexity` is not a finite value of at most
    /// `maximumPerplexity`.
    public static func validate(
        perplexity: Double, scoredTokens: Int, modelPath: String, tokenizer: String, textNames: [String]
    ) throws {
        guard perplexity.isFinite && perplexity <= maximumPerplexity else {
            throw DenseModelCheckError(
                perplexity: perplexity, scoredTokens: scoredTokens, modelPath: modelPath, tokenizer: tokenizer,
                textNames: textNames)
        }
    }

    /// Scores `heldOut` with the dense model and validates the result; returns the perplexity.
    public static func run(
        model: LlamaModel, heldOut: HeldOutText, precision: ActivationPrecision, context: Int, pool: ThreadPool
    ) throws -> PerplexityResult {
        let result = try heldOut.perplexity(model: model, mask: nil, precision: precision, context: context, pool: pool)
        try validate(
            perplexity: result.perplexity, scoredTokens: result.scoredTokens, modelPath: model.file.path,
            tokenizer: tokenizerDescription(of: model.file), textNames: heldOut.documentNames)
        return result
    }
}

/// The dense model's held-out perplexity is absurd, so a search on it would be meaningless.
public struct DenseModelCheckError: Error, CustomStringConvertible, Sendable {
    public let perplexity: Double
    public let scoredTokens: Int
    public let modelPath: String
    public let tokenizer: String
    public let textNames: [String]

    public var description: String {
        "the dense model's perplexity is \(perplexity) on \(scoredTokens) held-out tokens of "
            + "\(textNames.joined(separator: ", ")) (acceptable: at most \(DenseModelCheck.maximumPerplexity)); "
            + "model file \(modelPath), tokenizer \(tokenizer). Check that the file is complete (compare its "
            + "sha256), that the tokenizer belongs to this model and that the text is plain UTF-8 prose"
    }
}
