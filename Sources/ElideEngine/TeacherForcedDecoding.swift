import ElideModels

/// Runs a known token sequence through a session the way generation would produce it: the first
/// `promptTokens` tokens as one prefill, then one decode step per following token (teacher forcing).
///
/// Each step's prediction is the logits for the next token of the sequence, so the caller can score it
/// against the known token. The prefill's prediction is generated token 0; the decode step that consumes
/// token `promptTokens + i - 1` produces generated token `i`, which is the index FFN skipping's warm-up
/// counts.
public struct TeacherForcedDecoding {
    public let session: LlamaSession

    public init(session: LlamaSession) {
        self.session = session
    }

    /// Decodes `tokens` under `rule` (nil: every FFN block runs, through the same `forward(_:)` calls
    /// `TextGenerator` makes) and passes each prediction to `onPrediction(index, logits)`, where `index`
    /// is the position in `tokens` of the token being predicted (`promptTokens ..< tokens.count`).
    /// - Returns: the skipped and considered FFN blocks over the decode steps.
    @discardableResult
    public func run(
        tokens: [Int], promptTokens: Int, rule: FeedForwardSkipRule?,
        onPrediction: (Int, UnsafeBufferPointer<Float>) -> Void
    ) -> FeedForwardSkipCount {
        precondition(
            promptTokens >= 1 && promptTokens < tokens.count,
            "teacher forcing needs 1 to \(tokens.count - 1) prompt tokens, got \(promptTokens)")
        precondition(tokens.count <= session.capacity, "\(tokens.count) tokens exceed the cache capacity")
        session.reset()
        session.forward(
            Array(tokens[..<promptTokens]), logits: .last,
            onLogits: { _, logits in onPrediction(promptTokens, logits) })

        guard let rule else {
            for index in promptTokens..<(tokens.count - 1) {
                session.forward(
                    [tokens[index]], logits: .last, onLogits: { _, logits in onPrediction(index + 1, logits) })
            }
            return FeedForwardSkipCount()
        }
        var skipper = FeedForwardSkipper(rule: rule, mask: session.mask, firstTokenIndex: 1)
        for index in promptTokens..<(tokens.count - 1) {
            session.decode(tokens[index], skipper: &skipper) { logits in onPrediction(index + 1, logits) }
        }
        return skipper.count
    }
}
