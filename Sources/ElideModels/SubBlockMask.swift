/// The attention and MLP sub-blocks of each layer that run. A dropped attention sub-block also keeps no
/// KV cache for that layer. The engine's `CompressionPlan` lowers to this mask.
public struct SubBlockMask: Sendable, Equatable {
    public var attentionKept: [Bool]
    public var mlpKept: [Bool]

    public init(attentionKept: [Bool], mlpKept: [Bool]) {
        precondition(attentionKept.count == mlpKept.count, "attention and MLP masks cover different layer counts")
        self.attentionKept = attentionKept
        self.mlpKept = mlpKept
    }

    /// Returns the mask that keeps every sub-block of `layers` layers.
    public static func dense(layers: Int) -> SubBlockMask {
        SubBlockMask(
            attentionKept: Array(repeating: true, count: layers), mlpKept: Array(repeating: true, count: layers))
    }

    public var layerCount: Int { attentionKept.count }
    public var droppedCount: Int { attentionKept.filter { !$0 }.count + mlpKept.filter { !$0 }.count }
}

/// The point in a layer at which an observed hidden state was taken.
public enum HiddenStatePoint: Sendable {
    /// The residual stream entering layer `layer`.
    case layerInput
    /// The residual stream after the attention sub-block of layer `layer` (before its MLP).
    case afterAttention
    /// The residual stream leaving the last layer, before the final norm (`layer` equals the layer count).
    case finalOutput
}

/// Receives hidden states while a forward pass runs: `tokens` rows of `width` floats, row-major.
/// The buffer is only valid during the call.
public typealias HiddenStateObserver = (
    _ layer: Int, _ point: HiddenStatePoint, _ states: UnsafeBufferPointer<Float>, _ tokens: Int
) -> Void
