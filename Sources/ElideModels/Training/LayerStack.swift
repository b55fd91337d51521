/// A chain of trainable layers whose parameters lie back to back in one flat array.
///
/// Layer `i` reads `parameters[parameterOffsets[i] ..< parameterOffsets[i] + layers[i].parameterCount]`, relative
/// to the pointer passed in. Activations and scratch space live in a `LayerStackWorkspace`, so a stack is a plain
/// value that several threads may use at once, each with its own workspace.
public struct LayerStack: Sendable {
    public let layers: [any TrainableLayer]
    public let parameterOffsets: [Int]
    public let parameterCount: Int

    /// Chains `layers`; each layer's input shape must equal the previous layer's output shape.
    public init(_ layers: [any TrainableLayer]) {
        precondition(!layers.isEmpty, "a layer stack needs at least one layer")
        for index in 1..<layers.count {
            precondition(
                layers[index].inputShape == layers[index - 1].outputShape,
                "layer \(index) expects input \(layers[index].inputShape), "
                    + "but layer \(index - 1) outputs \(layers[index - 1].outputShape)")
        }
        var offsets: [Int] = []
        var total = 0
        for layer in layers {
            offsets.append(total)
            total += layer.parameterCount
        }
        self.layers = layers
        self.parameterOffsets = offsets
        self.parameterCount = total
    }

    public var inputShape: FeatureShape { layers[0].inputShape }
    public var outputShape: FeatureShape { layers[layers.count - 1].outputShape }

    /// Writes initial values for every layer's parameters, layer by layer from `generator`.
    public func initialize<Generator: RandomNumberGenerator>(
        _ parameters: UnsafeMutableBufferPointer<Float>, using generator: inout Generator
    ) {
        precondition(
            parameters.count == parameterCount, "expected \(parameterCount) parameters, got \(parameters.count)")
        for (layer, offset) in zip(layers, parameterOffsets) {
            layer.initialize(
                UnsafeMutableBufferPointer(rebasing: parameters[offset..<(offset + layer.parameterCount)]),
                using: &generator)
        }
    }

    /// Runs every layer on `batch` samples of `input`. Returns the last layer's output, stored in `workspace`.
    @discardableResult
    public func forward(
        input: UnsafePointer<Float>, batch: Int, parameters: UnsafePointer<Float>, workspace: LayerStackWorkspace
    ) -> UnsafeMutablePointer<Float> {
        precondition(
            batch <= workspace.maximumBatch, "batch \(batch) exceeds the workspace's \(workspace.maximumBatch)")
        var current = input
        for (index, layer) in layers.enumerated() {
            let output = workspace.activations[index]
            layer.forward(
                input: current, output: output, batch: batch, parameters: parameters + parameterOffsets[index],
                scratch: workspace.scratch[index])
            current = UnsafePointer(output)
        }
        return workspace.activations[layers.count - 1]
    }

    /// Backpropagates `outputGradient` (batch × outputShape.count) through the layers of the latest `forward`
    /// call on `input`, writing the parameter gradient to `parameterGradient` (parameterCount floats, overwritten)
    /// and, when not nil, the input gradient to `inputGradient`.
    public func backward(
        input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>?,
        batch: Int, parameters: UnsafePointer<Float>, parameterGradient: UnsafeMutablePointer<Float>,
        workspace: LayerStackWorkspace
    ) {
        var gradient = outputGradient
        for index in stride(from: layers.count - 1, through: 0, by: -1) {
            let layerInput = index == 0 ? input : UnsafePointer(workspace.activations[index - 1])
            let target = index == 0 ? inputGradient : workspace.gradients[index % 2]
            layers[index].backward(
                input: layerInput, output: workspace.activations[index], outputGradient: gradient,
                inputGradient: target, batch: batch, parameters: parameters + parameterOffsets[index],
                parameterGradient: parameterGradient + parameterOffsets[index], scratch: workspace.scratch[index])
            if let target { gradient = UnsafePointer(target) }
        }
    }
}
