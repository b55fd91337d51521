extension PixelImage {
    /// Scales the image to `width × height` by bilinear interpolation, antialiased when shrinking.
    ///
    /// Each axis is resampled separately with a triangle filter centred on the output pixel's centre
    /// (pixel centres at half-integer coordinates). When an axis shrinks by a factor s > 1 the triangle is
    /// widened by s, so every input pixel contributes and a fine pattern averages out instead of aliasing;
    /// when it grows the filter is plain bilinear. Weights are renormalised at the borders, so a constant
    /// image stays constant. This is the scheme of Pillow's `Image.resize(..., BILINEAR)`.
    public func resized(width newWidth: Int, height newHeight: Int) -> PixelImage {
        precondition(newWidth > 0 && newHeight > 0, "PixelImage.resized: size \(newWidth)×\(newHeight) below 1")
        if newWidth == width && newHeight == height { return self }
        let columns = ResamplingWeights(inputSize: width, outputSize: newWidth)
        let rows = ResamplingWeights(inputSize: height, outputSize: newHeight)

        // Horizontal pass: height × newWidth × channels floats.
        var horizontal = [Float](repeating: 0, count: height * newWidth * channels)
        for row in 0..<height {
            let inputRow = row * width * channels
            let outputRow = row * newWidth * channels
            for column in 0..<newWidth {
                let (start, weights) = columns.taps(column)
                for channel in 0..<channels {
                    var sum: Float = 0
                    for (tap, weight) in weights.enumerated() {
                        sum += weight * Float(pixels[inputRow + (start + tap) * channels + channel])
                    }
                    horizontal[outputRow + column * channels + channel] = sum
                }
            }
        }

        // Vertical pass.
        let rowFloats = newWidth * channels
        var result = [UInt8](repeating: 0, count: newHeight * rowFloats)
        for row in 0..<newHeight {
            let (start, weights) = rows.taps(row)
            for index in 0..<rowFloats {
                var sum: Float = 0
                for (tap, weight) in weights.enumerated() {
                    sum += weight * horizontal[(start + tap) * rowFloats + index]
                }
                result[row * rowFloats + index] = UInt8(max(0, min(255, sum.rounded())))
            }
        }
        return PixelImage(uncheckedWidth: newWidth, height: newHeight, channels: channels, pixels: result)
    }
}

/// The filter taps of one axis of a resize: for each output index, the first input index and the weights of
/// the consecutive input pixels it reads, summing to 1.
struct ResamplingWeights {
    let starts: [Int]
    let weights: [[Float]]

    init(inputSize: Int, outputSize: Int) {
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        // The triangle filter reaches one pixel either side, widened by the shrink factor.
        let support = filterScale
        var starts = [Int]()
        var weights = [[Float]]()
        starts.reserveCapacity(outputSize)
        weights.reserveCapacity(outputSize)
        for output in 0..<outputSize {
            let center = (Double(output) + 0.5) * scale
            let first = max(Int((center - support).rounded(.down)), 0)
            let last = min(Int((center + support).rounded(.up)), inputSize)
            var taps = [Double]()
            for input in first..<last {
                let distance = abs(Double(input) + 0.5 - center) / filterScale
                taps.append(max(0, 1 - distance))
            }
            let total = taps.reduce(0, +)
            starts.append(first)
            weights.append(taps.map { Float($0 / total) })
        }
        self.starts = starts
        self.weights = weights
    }

    func taps(_ output: Int) -> (start: Int, weights: [Float]) {
        (starts[output], weights[output])
    }
}
