/// One layer of a trainable network, with a forward and a backward pass over a batch.
///
/// A layer stores no activations and no parameters. The caller passes the batch's input, the layer's slice of a
/// flat parameter array and a scratch buffer of `scratchCount(batch:)` floats. The scratch buffer must keep its
/// contents from `forward` to the `backward` of the same batch. Activations are batch-major (NCHW), see `FeatureShape`.
public protocol TrainableLayer: Sendable {
    var inputShape: FeatureShape { get }
    var outputShape: FeatureShape { get }
    /// Floats this layer reads from the flat parameter array.
    var parameterCount: Int { get }

    /// Floats of scratch space the layer needs for a batch of `batch` samples.
    func scratchCount(batch: Int) -> Int

    /// Writes initial parameter values drawn from `generator`.
    func initialize<Generator: RandomNumberGenerator>(
        _ parameters: UnsafeMutableBufferPointer<Float>, using generator: inout Generator)

    /// Computes `output` (batch × outputShape.count) from `input` (batch × inputShape.count).
    func forward(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int,
        parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>)

    /// Computes the gradient of the loss with respect to the parameters (overwriting `parameterGradient`) and,
    /// when `inputGradient` is not nil, with respect to the input, from the gradient with respect to the output.
    /// `input`, `output` and `scratch` are those of the latest `forward` call.
    func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, batch: Int,
        parameters: UnsafePointer<Float>, parameterGradient: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>)
}

extension TrainableLayer {
    public func scratchCount(batch: Int) -> Int { 0 }

    public func initialize<Generator: RandomNumberGenerator>(
        _ parameters: UnsafeMutableBufferPointer<Float>, using generator: inout Generator
    ) {}
}

extension RandomNumberGenerator {
    /// Returns a uniform Float in [-bound, bound) from 24 random bits, the same on every platform
    /// (unlike `Float.random(in:using:)`, whose algorithm the standard library may change).
    mutating func nextUniform(bound: Float) -> Float {
        let unit = Float(next() >> 40) * (1.0 / 16_777_216.0)
        return (2 * unit - 1) * bound
    }
}
