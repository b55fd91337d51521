import ElideTensor

#if canImport(Glibc)
    import Glibc
#endif

/// Row-wise kernels of the vision transformer that are not matrix products.
enum VisionMath {
    /// LayerNorm of each of `rows` rows of `width` values: `(x − mean) / sqrt(variance + ε) · weight + bias`,
    /// with the biased variance, as PyTorch computes it.
    static func layerNorm(
        _ input: UnsafePointer<Float>, rows: Int, width: Int, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, epsilon: Float, output: UnsafeMutablePointer<Float>
    ) {
        for row in 0..<rows {
            let x = input + row * width
            let y = output + row * width
            var sum: Float = 0
            for i in 0..<width { sum += x[i] }
            let mean = sum / Float(width)
            var squares: Float = 0
            for i in 0..<width {
                let centred = x[i] - mean
                squares += centred * centred
            }
            let inverse = 1 / (squares / Float(width) + epsilon).squareRoot()
            for i in 0..<width {
                y[i] = (x[i] - mean) * inverse * weight[i] + bias[i]
            }
        }
    }

    /// Adds `bias` (`width` values) to each of `rows` rows with stride `stride`.
    static func addBias(
        _ values: UnsafeMutablePointer<Float>, rows: Int, width: Int, stride: Int, bias: UnsafePointer<Float>
    ) {
        for row in 0..<rows {
            let y = values + row * stride
            for i in 0..<width { y[i] += bias[i] }
        }
    }

    /// `x += scale ⊙ update` for `rows` rows of `width` values (layer scale and residual in one step).
    static func addScaled(
        _ x: UnsafeMutablePointer<Float>, _ update: UnsafePointer<Float>, scale: UnsafePointer<Float>, rows: Int,
        width: Int
    ) {
        for row in 0..<rows {
            let y = x + row * width
            let u = update + row * width
            for i in 0..<width { y[i] += scale[i] * u[i] }
        }
    }

    /// Exact GELU, `0.5 · x · (1 + erf(x / √2))`, in place.
    static func gelu(_ values: UnsafeMutablePointer<Float>, count: Int) {
        let inverseRoot2: Float = 0.707_106_781_186_547_5
        for i in 0..<count {
            let x = values[i]
            values[i] = 0.5 * x * (1 + erff(x * inverseRoot2))
        }
    }

    /// Softmax of one row in place; entries equal to -infinity get probability 0.
    static func softmax(_ values: UnsafeMutablePointer<Float>, count: Int) {
        var maximum = -Float.infinity
        for i in 0..<count { maximum = max(maximum, values[i]) }
        var sum: Float = 0
        for i in 0..<count {
            let e = expf(values[i] - maximum)
            values[i] = e
            sum += e
        }
        let inverse = 1 / sum
        for i in 0..<count { values[i] *= inverse }
    }
}
