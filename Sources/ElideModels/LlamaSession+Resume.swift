/// A point of the residual stream between two sub-blocks, numbered in execution order.
///
/// With `n` layers there are `2n + 1` boundaries: `2i` is the input of layer `i` (before its attention),
/// `2i + 1` lies between layer `i`'s attention and its MLP, and `2n` is the output of the last layer,
/// before the final norm. They match the `HiddenStatePoint`s an observer receives.
public struct SubBlockBoundary: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Position in execution order, `0...2 × layers`.
    public let index: Int

    public init(index: Int) {
        precondition(index >= 0, "a sub-block boundary index is never negative, got \(index)")
        self.index = index
    }

    /// Creates the boundary an observer reports as (`layer`, `point`); `.finalOutput` takes the layer count.
    public init(layer: Int, point: HiddenStatePoint) {
        switch point {
        case .layerInput, .finalOutput: self.init(index: 2 * layer)
        case .afterAttention: self.init(index: 2 * layer + 1)
        }
    }

    /// Returns the number of boundaries of a model with `layers` layers.
    public static func count(layers: Int) -> Int { 2 * layers + 1 }

    /// Returns the boundary just before the first sub-block that `mask` drops, or nil when it drops none.
    public static func firstDropped(in mask: SubBlockMask) -> SubBlockBoundary? {
        for layer in 0..<mask.layerCount {
            if !mask.attentionKept[layer] { return SubBlockBoundary(layer: layer, point: .layerInput) }
            if !mask.mlpKept[layer] { return SubBlockBoundary(layer: layer, point: .afterAttention) }
        }
        return nil
    }

    /// The layer whose attention (even index) or MLP (odd index) runs next; the layer count at the final output.
    public var layer: Int { index / 2 }

    public static func < (lhs: SubBlockBoundary, rhs: SubBlockBoundary) -> Bool { lhs.index < rhs.index }

    public var description: String {
        index % 2 == 0 ? "input of layer \(layer)" : "after the attention of layer \(layer)"
    }
}

extension LlamaSession {
    /// Runs the sub-blocks from `boundary` to the end on hidden states taken at that boundary, appending
    /// the rows to the KV caches of the layers it runs.
    ///
    /// `states` contains `count` rows of `embeddingLength` floats: the residual stream at `boundary` for the
    /// positions `position ..< position + count`. The sub-blocks before `boundary` do not run and their
    /// layers' KV caches get no entries for these positions. So every call between two `reset()`s must
    /// start at the same boundary; a later `forward(_:)` on the same positions needs a `reset()` first.
    /// Starting from the states a dense forward pass observed at `boundary`, the rows, observations and
    /// logits are the ones a full forward pass under this session's mask produces, provided the mask
    /// keeps every sub-block before `boundary`. `observer` sees `boundary` and every later boundary;
    /// logit rows and `onLogits` work as in `forward(_:logits:observer:onLogits:)`.
    public func forward(
        resumingAt boundary: SubBlockBoundary, states: UnsafePointer<Float>, count: Int,
        logits request: LogitRequest = .all, observer: HiddenStateObserver? = nil,
        onLogits: (Int, UnsafeBufferPointer<Float>) -> Void = { _, _ in }
    ) {
        let layerCount = model.configuration.blockCount
        precondition(
            boundary.index <= 2 * layerCount,
            "boundary \(boundary.index) is past the final output of a \(layerCount)-layer model")
        precondition(count >= 0, "cannot resume with \(count) rows")
        precondition(
            position + count <= capacity, "\(position + count) positions exceed the cache capacity \(capacity)")
        let width = model.configuration.embeddingLength

        var start = 0
        while start < count {
            let end = min(start + batchCapacity, count)
            let chunkCount = end - start
            let rows: Range<Int>
            switch request {
            case .none: rows = 0..<0
            case .last: rows = end == count ? (chunkCount - 1)..<chunkCount : 0..<0
            case .all: rows = 0..<chunkCount
            }
            scratch.hidden.update(from: states + start * width, count: chunkCount * width)
            runLayers(from: boundary.index, count: chunkCount, observer: observer)
            advance(by: chunkCount)
            emitLogits(rows: rows) { row, logits in onLogits(start + row, logits) }
            start = end
        }
    }
}
