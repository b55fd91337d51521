/// Activations, scratch space and gradient buffers for running one `LayerStack` on batches of up to
/// `maximumBatch` samples. Allocated once and reused for every batch; not shared between threads.
public final class LayerStackWorkspace {
    public let maximumBatch: Int
    /// Output of each layer (maximumBatch × outputShape.count), valid after `LayerStack.forward`.
    public let activations: [UnsafeMutablePointer<Float>]
    let scratch: [UnsafeMutablePointer<Float>]
    /// Two buffers the backward pass alternates between for the gradient flowing into each layer's output.
    let gradients: [UnsafeMutablePointer<Float>]
    private let allocations: [UnsafeMutablePointer<Float>]

    public init(stack: LayerStack, maximumBatch: Int) {
        precondition(maximumBatch > 0, "a workspace needs a positive batch size, got \(maximumBatch)")
        func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
            pointer.initialize(repeating: 0, count: max(1, count))
            return pointer
        }
        let widest = stack.layers.map { max($0.inputShape.count, $0.outputShape.count) }.max() ?? 1
        self.maximumBatch = maximumBatch
        activations = stack.layers.map { allocate(maximumBatch * $0.outputShape.count) }
        scratch = stack.layers.map { allocate($0.scratchCount(batch: maximumBatch)) }
        gradients = [allocate(maximumBatch * widest), allocate(maximumBatch * widest)]
        allocations = activations + scratch + gradients
    }

    deinit {
        for pointer in allocations {
            pointer.deallocate()
        }
    }
}
