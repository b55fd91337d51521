/// Weights of one pre-norm transformer layer. Linear weights are `(inputs, outputs)` row-major, as ONNX
/// MatMul stores them, so a layer computes `x · W + b`.
struct VisionLayerWeights: Sendable {
    var norm1Weight: [Float]  // (width)
    var norm1Bias: [Float]  // (width)
    /// Query, key and value weights side by side: `(width, 3 · width)`, columns q | k | v.
    var qkv: [Float]
    var qkvBias: [Float]  // (3 · width)
    var output: [Float]  // (width, width)
    var outputBias: [Float]  // (width)
    var layerScale1: [Float]  // (width)
    var norm2Weight: [Float]  // (width)
    var norm2Bias: [Float]  // (width)
    var fc1: [Float]  // (width, mlpWidth)
    var fc1Bias: [Float]  // (mlpWidth)
    var fc2: [Float]  // (mlpWidth, width)
    var fc2Bias: [Float]  // (width)
    var layerScale2: [Float]  // (width)
}

/// Weights before the first layer and after the last.
struct VisionEmbeddingWeights: Sendable {
    /// Patch projection, `(width, 3 · patchSize²)`: one row per output channel, inputs in (channel, y, x) order.
    var patchWeight: [Float]
    var patchBias: [Float]  // (width)
    var clsToken: [Float]  // (width)
    var clsPosition: [Float]  // (width)
    /// Patch position embeddings on the training grid, `(positionGrid², width)`, grid row-major.
    var patchPositions: [Float]
    var finalNormWeight: [Float]  // (width)
    var finalNormBias: [Float]  // (width)
}
