import ElideTensor

extension LlamaSession {
    /// Runs one decode step: appends `token` at the current position, lets `skipper` choose the FFN blocks
    /// to skip, and passes the logits of the next token to `onLogits` (valid only during the call).
    ///
    /// Every attention sub-block the mask keeps runs, so the KV cache is the same as after a dense step
    /// given the same residual states. With a rule that skips nothing (a threshold of `+inf`, a random
    /// ratio of 0, or a token inside the warm-up), the logits are bit-identical to `forward([token])`.
    /// - Returns: the layers whose FFN block this step skipped, in order.
    @discardableResult
    public func decode(
        _ token: Int, skipper: inout FeedForwardSkipper, observer: HiddenStateObserver? = nil,
        onLogits: (UnsafeBufferPointer<Float>) -> Void
    ) -> [Int] {
        runDecodeStep(token, skipper: &skipper, observer: observer)
        emitLogits(rows: 0..<1) { _, logits in onLogits(logits) }
        return skipper.endToken()
    }

    /// Runs one decode step as `decode(_:skipper:observer:onLogits:)` does, without the output head.
    @discardableResult
    public func decode(
        _ token: Int, skipper: inout FeedForwardSkipper, observer: HiddenStateObserver? = nil
    ) -> [Int] {
        runDecodeStep(token, skipper: &skipper, observer: observer)
        return skipper.endToken()
    }

    private func runDecodeStep(_ token: Int, skipper: inout FeedForwardSkipper, observer: HiddenStateObserver?) {
        precondition(position < capacity, "position \(position) is at the cache capacity \(capacity)")
        precondition(
            token >= 0 && token < model.configuration.vocabularySize, "token id \(token) is outside the vocabulary")
        model.tokenEmbedding.dequantizeRow(token, into: scratch.hidden)

        skipper.beginToken()
        activeSkipper = skipper
        runLayers(from: 0, count: 1, observer: observer)
        skipper = activeSkipper!  // !-safe: assigned above, and runLayers only mutates it in place.
        activeSkipper = nil
        advance(by: 1)
    }

    /// Runs, measures or skips the FFN block of layer `index` for the single row in `scratch.hidden`, as
    /// the active skipper decides.
    func skippableFeedForwardBlock(_ layer: LlamaModel.Layer, index: Int) {
        let width = model.configuration.embeddingLength
        switch activeSkipper!.action(forLayer: index) {
        case .skip:
            return
        case .run:
            feedForwardBlock(layer, count: 1)
        case .runAndMeasure:
            scratch.feedForwardInput.update(from: scratch.hidden, count: width)
            feedForwardBlock(layer, count: 1)
            let cosine = Self.cosineSimilarity(scratch.feedForwardInput, scratch.hidden, count: width)
            activeSkipper!.record(cosine: cosine)
        }
    }

    /// Returns a·b / (‖a‖ ‖b‖); NaN when either vector is zero.
    static func cosineSimilarity(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        let product = Kernels.dot(a, b, count: count)
        let norms = (Kernels.dot(a, a, count: count) * Kernels.dot(b, b, count: count)).squareRoot()
        return norms > 0 ? product / norms : .nan
    }
}
