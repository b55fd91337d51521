/// Reinterprets a `C × H × W` activation as a flat vector of `C·H·W` values (CHW order), for a dense layer.
/// The data is copied unchanged, because a batch-major CHW activation already is its flat form.
public struct Flatten: TrainableLayer {
    public let inputShape: FeatureShape
    public var outputShape: FeatureShape { .flat(inputShape.count) }
    public var parameterCount: Int { 0 }

    public init(shape: FeatureShape) {
        inputShape = shape
    }

    public func forward(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int,
        parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        output.update(from: input, count: batch * inputShape.count)
    }

    public func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, batch: Int,
        parameters: UnsafePointer<Float>, parameterGradient: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        inputGradient?.update(from: outputGradient, count: batch * inputShape.count)
    }
}
