/// 2×2 max pooling with stride 2. An odd last row or column is dropped (floor), as in PyTorch's default.
///
/// The backward pass sends each output's gradient to the first maximum of its window in row-major order,
/// found again from the input, so the layer needs no scratch space.
public struct MaxPool2D: TrainableLayer {
    public let inputShape: FeatureShape
    public let outputShape: FeatureShape
    public var parameterCount: Int { 0 }

    public init(input: FeatureShape) {
        precondition(input.height >= 2 && input.width >= 2, "2x2 max pooling needs at least 2x2 input, got \(input)")
        inputShape = input
        outputShape = FeatureShape(channels: input.channels, height: input.height / 2, width: input.width / 2)
    }

    public func forward(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int,
        parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        let (inWidth, outHeight, outWidth) = (inputShape.width, outputShape.height, outputShape.width)
        for plane in 0..<(batch * inputShape.channels) {
            let source = input + plane * inputShape.planeCount
            let target = output + plane * outputShape.planeCount
            for y in 0..<outHeight {
                let top = source + 2 * y * inWidth
                let bottom = top + inWidth
                for x in 0..<outWidth {
                    target[y * outWidth + x] = max(
                        max(top[2 * x], top[2 * x + 1]), max(bottom[2 * x], bottom[2 * x + 1]))
                }
            }
        }
    }

    public func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, batch: Int,
        parameters: UnsafePointer<Float>, parameterGradient: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        guard let inputGradient else { return }
        let (inWidth, outHeight, outWidth) = (inputShape.width, outputShape.height, outputShape.width)
        inputGradient.update(repeating: 0, count: batch * inputShape.count)
        for plane in 0..<(batch * inputShape.channels) {
            let source = input + plane * inputShape.planeCount
            let gradient = inputGradient + plane * inputShape.planeCount
            let pooled = output + plane * outputShape.planeCount
            let pooledGradient = outputGradient + plane * outputShape.planeCount
            for y in 0..<outHeight {
                for x in 0..<outWidth {
                    let maximum = pooled[y * outWidth + x]
                    let first = 2 * y * inWidth + 2 * x
                    var winner = first + inWidth + 1
                    if source[first] == maximum {
                        winner = first
                    } else if source[first + 1] == maximum {
                        winner = first + 1
                    } else if source[first + inWidth] == maximum {
                        winner = first + inWidth
                    }
                    gradient[winner] = pooledGradient[y * outWidth + x]
                }
            }
        }
    }
}
