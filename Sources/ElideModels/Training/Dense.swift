import ElideTensor

/// Fully connected layer `y = x · Wᵀ + b` on a flat input.
///
/// Parameters: the weights `W` (outputs × inputs, row-major) followed by the bias `b` (outputs). Weights start
/// uniform in ±`weightBound`, biases at zero.
public struct Dense: TrainableLayer {
    public let inputs: Int
    public let outputs: Int
    /// Half-width of the uniform range initial weights are drawn from.
    public let weightBound: Float

    /// Creates a layer whose weights start uniform in ±`weightBound`; the default √(6 / inputs) is He
    /// initialization for a layer followed by a ReLU.
    public init(inputs: Int, outputs: Int, weightBound: Float? = nil) {
        precondition(inputs > 0 && outputs > 0, "a dense layer needs positive sizes, got \(inputs) -> \(outputs)")
        self.inputs = inputs
        self.outputs = outputs
        self.weightBound = weightBound ?? (6 / Float(inputs)).squareRoot()
    }

    /// Returns the bound 1/√inputs for a layer that outputs logits (PyTorch's default for `nn.Linear`): √6 times
    /// smaller than He's, so the first logits are small and early steps do not saturate the softmax.
    public static func logitBound(inputs: Int) -> Float {
        1 / Float(inputs).squareRoot()
    }

    public var inputShape: FeatureShape { .flat(inputs) }
    public var outputShape: FeatureShape { .flat(outputs) }
    public var parameterCount: Int { outputs * inputs + outputs }

    public func initialize<Generator: RandomNumberGenerator>(
        _ parameters: UnsafeMutableBufferPointer<Float>, using generator: inout Generator
    ) {
        for index in 0..<(outputs * inputs) {
            parameters[index] = generator.nextUniform(bound: weightBound)
        }
        for index in (outputs * inputs)..<parameterCount {
            parameters[index] = 0
        }
    }

    public func forward(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int,
        parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        let bias = parameters + outputs * inputs
        for sample in 0..<batch {
            (output + sample * outputs).update(from: bias, count: outputs)
        }
        Kernels.sgemm(
            m: batch, n: outputs, k: inputs, a: input, lda: inputs, b: parameters, ldb: inputs, transposeB: true,
            beta: 1, c: output, ldc: outputs)
    }

    public func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, batch: Int,
        parameters: UnsafePointer<Float>, parameterGradient: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        // dW (outputs × inputs) = dYᵀ · X
        Kernels.sgemm(
            m: outputs, n: inputs, k: batch, a: outputGradient, lda: outputs, transposeA: true,
            b: input, ldb: inputs, transposeB: false, c: parameterGradient, ldc: inputs)

        // db = column sums of dY, in sample order.
        let biasGradient = parameterGradient + outputs * inputs
        biasGradient.update(repeating: 0, count: outputs)
        for sample in 0..<batch {
            let row = outputGradient + sample * outputs
            for unit in 0..<outputs {
                biasGradient[unit] += row[unit]
            }
        }

        // dX (batch × inputs) = dY · W
        if let inputGradient {
            Kernels.sgemm(
                m: batch, n: inputs, k: outputs, a: outputGradient, lda: outputs,
                b: parameters, ldb: inputs, transposeB: false, c: inputGradient, ldc: inputs)
        }
    }
}
