/// Rectified linear unit, `max(0, x)` elementwise.
public struct ReLU: TrainableLayer {
    public let inputShape: FeatureShape
    public var outputShape: FeatureShape { inputShape }
    public var parameterCount: Int { 0 }

    public init(shape: FeatureShape) {
        inputShape = shape
    }

    public func forward(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int,
        parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        for index in 0..<(batch * inputShape.count) {
            output[index] = max(0, input[index])
        }
    }

    public func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, batch: Int,
        parameters: UnsafePointer<Float>, parameterGradient: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        guard let inputGradient else { return }
        for index in 0..<(batch * inputShape.count) {
            inputGradient[index] = output[index] > 0 ? outputGradient[index] : 0
        }
    }
}
