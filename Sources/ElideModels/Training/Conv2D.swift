import ElideTensor

/// 2-D convolution with a square kernel, stride 1 and zero padding, computed as im2col plus one matrix product
/// per batch.
///
/// Parameters: the weights (outChannels × inChannels × kernel × kernel) followed by the bias (outChannels).
/// Weights start uniform in ±√(6 / fanIn) with fanIn = inChannels·kernel² (He initialization), biases at zero.
///
/// The im2col matrix has one row per (input channel, ky, kx) and one column per (sample, output y, output x), so
/// a single sgemm covers the whole batch; the scratch space contains it (the backward pass needs it for the weight
/// gradient) and the product in channel-major order before it is scattered to NCHW.
public struct Conv2D: TrainableLayer {
    public let inputShape: FeatureShape
    public let outputShape: FeatureShape
    public let kernel: Int
    public let padding: Int

    public init(input: FeatureShape, outputChannels: Int, kernel: Int, padding: Int = 0) {
        precondition(outputChannels > 0 && kernel > 0 && padding >= 0, "invalid convolution settings")
        let height = input.height + 2 * padding - kernel + 1
        let width = input.width + 2 * padding - kernel + 1
        precondition(height > 0 && width > 0, "kernel \(kernel) with padding \(padding) does not fit input \(input)")
        inputShape = input
        outputShape = FeatureShape(channels: outputChannels, height: height, width: width)
        self.kernel = kernel
        self.padding = padding
    }

    /// Rows of the im2col matrix: values in one receptive field.
    private var fieldCount: Int { inputShape.channels * kernel * kernel }
    private var weightCount: Int { outputShape.channels * fieldCount }
    public var parameterCount: Int { weightCount + outputShape.channels }

    public func scratchCount(batch: Int) -> Int {
        (fieldCount + outputShape.channels) * batch * outputShape.planeCount
    }

    public func initialize<Generator: RandomNumberGenerator>(
        _ parameters: UnsafeMutableBufferPointer<Float>, using generator: inout Generator
    ) {
        let bound = (6 / Float(fieldCount)).squareRoot()
        for index in 0..<weightCount {
            parameters[index] = generator.nextUniform(bound: bound)
        }
        for index in weightCount..<parameterCount {
            parameters[index] = 0
        }
    }

    public func forward(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int,
        parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        let columns = batch * outputShape.planeCount
        let im2col = scratch
        let product = scratch + fieldCount * columns  // (outChannels, batch · outPlane)
        fillColumns(im2col, from: input, batch: batch)
        Kernels.sgemm(
            m: outputShape.channels, n: columns, k: fieldCount, a: parameters, lda: fieldCount,
            b: im2col, ldb: columns, transposeB: false, c: product, ldc: columns)

        // Scatter to NCHW and add the bias.
        let plane = outputShape.planeCount
        let bias = parameters + weightCount
        for sample in 0..<batch {
            for channel in 0..<outputShape.channels {
                let source = product + channel * columns + sample * plane
                let target = output + (sample * outputShape.channels + channel) * plane
                let value = bias[channel]
                for index in 0..<plane {
                    target[index] = source[index] + value
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
        let columns = batch * outputShape.planeCount
        let plane = outputShape.planeCount
        let im2col = scratch
        let gradientProduct = scratch + fieldCount * columns  // (outChannels, batch · outPlane)

        // Gather dY to channel-major order; the bias gradient is its row sums.
        let biasGradient = parameterGradient + weightCount
        for channel in 0..<outputShape.channels {
            var sum: Float = 0
            for sample in 0..<batch {
                let source = outputGradient + (sample * outputShape.channels + channel) * plane
                let target = gradientProduct + channel * columns + sample * plane
                for index in 0..<plane {
                    target[index] = source[index]
                    sum += source[index]
                }
            }
            biasGradient[channel] = sum
        }

        // dW (outChannels × field) = dY · im2colᵀ
        Kernels.sgemm(
            m: outputShape.channels, n: fieldCount, k: columns, a: gradientProduct, lda: columns,
            b: im2col, ldb: columns, transposeB: true, c: parameterGradient, ldc: fieldCount)

        // dX: d(im2col) = Wᵀ · dY overwrites the im2col matrix, then col2im sums it back to NCHW.
        guard let inputGradient else { return }
        Kernels.sgemm(
            m: fieldCount, n: columns, k: outputShape.channels, a: parameters, lda: fieldCount, transposeA: true,
            b: gradientProduct, ldb: columns, transposeB: false, c: im2col, ldc: columns)
        accumulateColumns(im2col, into: inputGradient, batch: batch)
    }

    /// Visits every (im2col row, sample, output row) with the input row it reads, or nil where it reads padding.
    @inline(__always)
    private func forEachColumnRow(
        batch: Int, _ body: (_ columnRow: Int, _ inputRow: Int?, _ kx: Int) -> Void
    ) {
        let (channels, height, width) = (inputShape.channels, inputShape.height, inputShape.width)
        let (outHeight, outWidth) = (outputShape.height, outputShape.width)
        let columns = batch * outHeight * outWidth
        for channel in 0..<channels {
            for ky in 0..<kernel {
                for kx in 0..<kernel {
                    let row = ((channel * kernel + ky) * kernel + kx) * columns
                    for sample in 0..<batch {
                        for y in 0..<outHeight {
                            let inputY = y + ky - padding
                            let columnRow = row + (sample * outHeight + y) * outWidth
                            if inputY < 0 || inputY >= height {
                                body(columnRow, nil, kx)
                            } else {
                                body(columnRow, ((sample * channels + channel) * height + inputY) * width, kx)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Returns the range of output x whose input x = x + kx - padding lies inside the image.
    @inline(__always)
    private func validOutputColumns(kx: Int) -> Range<Int> {
        let lower = max(0, padding - kx)
        let upper = min(outputShape.width, inputShape.width + padding - kx)
        return lower..<max(lower, upper)
    }

    private func fillColumns(_ im2col: UnsafeMutablePointer<Float>, from input: UnsafePointer<Float>, batch: Int) {
        let outWidth = outputShape.width
        forEachColumnRow(batch: batch) { columnRow, inputRow, kx in
            let target = im2col + columnRow
            guard let inputRow else {
                target.update(repeating: 0, count: outWidth)
                return
            }
            let valid = validOutputColumns(kx: kx)
            if valid.lowerBound > 0 { target.update(repeating: 0, count: valid.lowerBound) }
            if valid.upperBound < outWidth {
                (target + valid.upperBound).update(repeating: 0, count: outWidth - valid.upperBound)
            }
            if !valid.isEmpty {
                (target + valid.lowerBound).update(
                    from: input + inputRow + valid.lowerBound + kx - padding, count: valid.count)
            }
        }
    }

    private func accumulateColumns(
        _ im2col: UnsafePointer<Float>, into inputGradient: UnsafeMutablePointer<Float>, batch: Int
    ) {
        inputGradient.update(repeating: 0, count: batch * inputShape.count)
        forEachColumnRow(batch: batch) { columnRow, inputRow, kx in
            guard let inputRow else { return }
            let source = im2col + columnRow
            let target = inputGradient + inputRow + kx - padding
            for x in validOutputColumns(kx: kx) {
                target[x] += source[x]
            }
        }
    }
}
