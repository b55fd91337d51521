/// Storage format of the dense model's next-token distributions, the teacher of the KL fitness.
public enum TeacherMode: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Every log-probability of every position, rounded to fp16 (vocabulary × 2 bytes per position:
    /// 96 MiB per 1,024-token sequence for SmolLM2's 49,152 tokens). The KL divergence is over the
    /// whole vocabulary.
    case exact
    /// The teacher's `k` most likely tokens per position (indices and Float log-probabilities, 8 bytes
    /// each). The KL divergence is over those `k` tokens only, with both distributions renormalised over
    /// them, as in EvoPress's TopK-KL.
    ///
    /// NOTE: TopK-KL underestimates the KL, the more so the more mass a candidate moves outside the
    /// teacher's top K. On SmolLM2 (127 predictions of *Emma*, five candidates from 0.18 to 5 nats per
    /// token) K = 1,024 read 2–33% low and kept the candidates' order, while K = 256 read 4–45% low
    /// and swapped one pair (`SmolLM2EvaluationTests.topKErrorAgainstExact`).
    case topK(Int)

    /// Parses `exact`, `top-k:K` or `topk:K`.
    public init(parsing text: String) throws {
        let lowered = text.lowercased()
        if lowered == "exact" {
            self = .exact
            return
        }
        for prefix in ["top-k:", "topk:"] where lowered.hasPrefix(prefix) {
            if let k = Int(lowered.dropFirst(prefix.count)), k >= 2 {
                self = .topK(k)
                return
            }
        }
        throw CalibrationError("invalid teacher mode '\(text)': expected 'exact' or 'top-k:K' with K of 2 or more")
    }

    public var description: String {
        switch self {
        case .exact: "exact"
        case .topK(let k): "top-k:\(k)"
        }
    }

    public init(from decoder: any Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
