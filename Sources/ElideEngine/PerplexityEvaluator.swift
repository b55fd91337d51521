import ElideModels
import ElideTensor
import Foundation

/// The rule for cutting a text into windows and choosing the predictions that count.
public enum PerplexityProtocol: String, Sendable, CaseIterable {
    /// Consecutive windows of `context` tokens; every prediction inside a window is scored
    /// (`context - 1` per window), and a shorter final window is scored too.
    case elide
    /// `llama-perplexity`'s protocol: only whole windows of `context` tokens, BOS written into the first
    /// position when the vocabulary requests one, and only the predictions made from the second half of
    /// each window scored (positions `context/2 ..< context-1` predicting the next token).
    case llamaCpp = "llama.cpp"
}

/// The outcome of a perplexity run.
public struct PerplexityResult: Sendable {
    public var perplexity: Double
    public var negativeLogLikelihood: Double
    public var scoredTokens: Int
    public var windows: Int
    public var tokensInText: Int
    /// Running perplexity after each window, as `llama-perplexity` prints it.
    public var perWindow: [Double]
}

/// Scores a token sequence with a model: perplexity = exp(mean negative log-likelihood).
public struct PerplexityEvaluator {
    public let model: LlamaModel
    public let precision: ActivationPrecision
    public let mask: SubBlockMask?
    public let pool: ThreadPool

    public init(model: LlamaModel, precision: ActivationPrecision, mask: SubBlockMask? = nil, pool: ThreadPool) {
        self.model = model
        self.precision = precision
        self.mask = mask
        self.pool = pool
    }

    /// Evaluates `tokens` in windows of `context` tokens. `bosID` is written into each window's first
    /// position under the llama.cpp protocol when the vocabulary adds BOS; pass nil when it does not.
    /// `progress(window, windows)` is called after each window.
    public func evaluate(
        tokens: [Int], context: Int, protocol scoring: PerplexityProtocol, bosID: Int?,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> PerplexityResult {
        guard context >= 2 else { throw EvaluationError("context must be at least 2 tokens, got \(context)") }
        var windows: [[Int]] = []
        var firstScored = 0
        switch scoring {
        case .elide:
            var start = 0
            while start + 1 < tokens.count {
                windows.append(Array(tokens[start..<min(start + context, tokens.count)]))
                start += context
            }
            firstScored = 0
        case .llamaCpp:
            let count = tokens.count / context
            guard count >= 1 else {
                throw EvaluationError(
                    "the text has \(tokens.count) tokens; the llama.cpp protocol needs at least one window of \(context)"
                        + " (use a longer text or a smaller --context)")
            }
            for index in 0..<count {
                var window = Array(tokens[(index * context)..<((index + 1) * context)])
                if let bosID { window[0] = bosID }
                windows.append(window)
            }
            firstScored = context / 2
        }
        guard !windows.isEmpty else {
            throw EvaluationError("the text has \(tokens.count) tokens; at least 2 are needed to score a prediction")
        }

        let session = LlamaSession(
            model: model, capacity: context, batchCapacity: min(context, 512), precision: precision, mask: mask,
            pool: pool)
        var total = 0.0
        var scored = 0
        var perWindow: [Double] = []
        for (index, window) in windows.enumerated() {
            session.reset()
            let lastScored = window.count - 1
            session.forward(
                window, logits: .all,
                onLogits: { row, logits in
                    guard row >= firstScored && row < lastScored else { return }
                    total -= logProbability(of: window[row + 1], logits: logits)
                    scored += 1
                })
            perWindow.append(exp(total / Double(max(scored, 1))))
            progress(index + 1, windows.count)
        }
        let mean = total / Double(scored)
        return PerplexityResult(
            perplexity: exp(mean), negativeLogLikelihood: mean, scoredTokens: scored, windows: windows.count,
            tokensInText: tokens.count, perWindow: perWindow)
    }
}

/// log softmax(logits)[token], accumulated in Double.
public func logProbability(of token: Int, logits: UnsafeBufferPointer<Float>) -> Double {
    var maximum = -Float.infinity
    for value in logits where value > maximum { maximum = value }
    var sum = 0.0
    for value in logits { sum += exp(Double(value - maximum)) }
    return Double(logits[token] - maximum) - log(sum)
}

public struct EvaluationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
