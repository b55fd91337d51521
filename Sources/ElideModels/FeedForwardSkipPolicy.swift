/// The settings of FFN-SkipLLM's adaptive FFN skipping (Jaiswal et al., "FFN-SkipLLM: A Hidden Gem for
/// Autoregressive Decoding with Adaptive Feed Forward Skipping", EMNLP 2024).
///
/// During a decode step after the warm-up, each FFN block that runs outside the cold regions is tested,
/// with h the residual state after the layer's attention. When cos(h, h + FFN(h)) ≥ `threshold`, the
/// next `skipCount` eligible FFN blocks of that token are skipped. Then the next eligible FFN runs and is
/// tested again, so one token can skip several runs of `skipCount` blocks. Attention always runs, so the
/// KV cache stays complete. The JSON form is
///
///     {"warmup_tokens": 16, "cold_start": 3, "cold_end": 2, "threshold": 0.97, "skip_count": 2}
///
/// and a threshold of `+inf` (written `"+inf"` in JSON) never skips.
public struct FeedForwardSkipPolicy: Codable, Sendable, Hashable {
    /// Generated tokens that run every FFN block before skipping starts; token 0 comes from the prompt's
    /// prefill and never skips, whatever this value is.
    public var warmupTokens: Int
    /// Number of leading layers whose FFN is never skipped.
    public var coldStart: Int
    /// Number of trailing layers whose FFN is never skipped.
    public var coldEnd: Int
    /// τ: the cosine similarity at or above which the following FFN blocks are skipped.
    public var threshold: Float
    /// k: eligible FFN blocks skipped after a block whose cosine reached the threshold.
    public var skipCount: Int

    enum CodingKeys: String, CodingKey {
        case warmupTokens = "warmup_tokens"
        case coldStart = "cold_start"
        case coldEnd = "cold_end"
        case threshold
        case skipCount = "skip_count"
    }

    public init(warmupTokens: Int, coldStart: Int, coldEnd: Int, threshold: Float, skipCount: Int) {
        self.warmupTokens = warmupTokens
        self.coldStart = coldStart
        self.coldEnd = coldEnd
        self.threshold = threshold
        self.skipCount = skipCount
    }

    /// Checks every field and the cold regions against a model with `layerCount` layers; the error names
    /// the field and its valid range.
    public func validate(layerCount: Int) throws {
        try validateFields()
        guard coldStart + coldEnd <= layerCount else {
            throw FeedForwardSkipPolicyError(
                field: "cold_start",
                "cold_start \(coldStart) plus cold_end \(coldEnd) exceeds the model's \(layerCount) layers; "
                    + "lower one of them so the cold regions fit")
        }
    }

    /// Checks the fields whose values are invalid for any model; the error names the field.
    public func validateFields() throws {
        for (field, value) in [("warmup_tokens", warmupTokens), ("cold_start", coldStart), ("cold_end", coldEnd)]
        where value < 0 {
            throw FeedForwardSkipPolicyError(field: field, "\(field) is \(value); it must be 0 or more")
        }
        guard skipCount >= 1 else {
            throw FeedForwardSkipPolicyError(
                field: "skip_count",
                "skip_count is \(skipCount); it must be 1 or more (use threshold +inf to never skip)")
        }
        guard !threshold.isNaN else {
            throw FeedForwardSkipPolicyError(field: "threshold", "threshold is NaN; use a cosine such as 0.97 or +inf")
        }
    }

    /// Returns whether `layer` lies in a cold region of a `layerCount`-layer model.
    public func isCold(layer: Int, layerCount: Int) -> Bool {
        layer < coldStart || layer >= layerCount - coldEnd
    }
}

/// A skip policy or skip rule that cannot be used, with the field at fault.
public struct FeedForwardSkipPolicyError: Error, CustomStringConvertible, Sendable {
    /// The JSON name of the invalid field, or nil when the problem is not one field.
    public let field: String?
    public let description: String

    public init(field: String?, _ description: String) {
        self.field = field
        self.description = description
    }
}
