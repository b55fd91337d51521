/// Bicubic resize of a square grid of position embeddings, with the semantics of ONNX `Resize` (mode cubic,
/// coordinate_transformation_mode half_pixel, exclude_outside 0), which is what PyTorch's
/// `interpolate(mode="bicubic", align_corners=False)` exports to.
///
/// Output pixel `x` samples the input at `(x + 0.5) / scale − 0.5`, where `scale = output / input` is computed
/// in Float as ONNX Runtime does; the four taps around that point use Keys' cubic kernel with coefficient `a`,
/// and taps outside the grid read the nearest edge value.
struct PositionGridResize {
    /// The input grid index and weight of each of the 4 taps, per output coordinate.
    struct Taps {
        var indices: [Int]  // (outputs, 4)
        var weights: [Float]  // (outputs, 4)
    }

    static func taps(input: Int, output: Int, a: Float) -> Taps {
        var indices: [Int] = []
        var weights: [Float] = []
        indices.reserveCapacity(output * 4)
        weights.reserveCapacity(output * 4)
        let scale = Float(output) / Float(input)
        for x in 0..<output {
            let source = (Float(x) + 0.5) / scale - 0.5
            let floorSource = source.rounded(.down)
            let t = source - floorSource
            let first = Int(floorSource) - 1
            let distances: [Float] = [t + 1, t, 1 - t, 2 - t]
            for tap in 0..<4 {
                indices.append(min(max(first + tap, 0), input - 1))
                weights.append(kernel(distances[tap], a: a))
            }
        }
        return Taps(indices: indices, weights: weights)
    }

    /// Keys' cubic convolution kernel at distance `s` (0 ≤ s < 2).
    static func kernel(_ s: Float, a: Float) -> Float {
        if s <= 1 {
            return ((a + 2) * s - (a + 3)) * s * s + 1
        }
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a
    }

    /// Resizes `grid × grid` vectors of `width` values (grid row-major) to `outputHeight × outputWidth`,
    /// adding the result to `output` (row-major, `width` values per cell).
    static func addResized(
        _ positions: UnsafePointer<Float>, grid: Int, width: Int, outputHeight: Int, outputWidth: Int, a: Float,
        into output: UnsafeMutablePointer<Float>
    ) {
        let rowTaps = taps(input: grid, output: outputHeight, a: a)
        let columnTaps = taps(input: grid, output: outputWidth, a: a)
        // Resize along columns first into a (grid, outputWidth, width) buffer, then along rows.
        let horizontal = UnsafeMutablePointer<Float>.allocate(capacity: grid * outputWidth * width)
        defer { horizontal.deallocate() }
        horizontal.initialize(repeating: 0, count: grid * outputWidth * width)
        for row in 0..<grid {
            for column in 0..<outputWidth {
                let target = horizontal + (row * outputWidth + column) * width
                for tap in 0..<4 {
                    let weight = columnTaps.weights[column * 4 + tap]
                    let source = positions + (row * grid + columnTaps.indices[column * 4 + tap]) * width
                    for i in 0..<width { target[i] += weight * source[i] }
                }
            }
        }
        for row in 0..<outputHeight {
            for column in 0..<outputWidth {
                let target = output + (row * outputWidth + column) * width
                for tap in 0..<4 {
                    let weight = rowTaps.weights[row * 4 + tap]
                    let source = horizontal + (rowTaps.indices[row * 4 + tap] * outputWidth + column) * width
                    for i in 0..<width { target[i] += weight * source[i] }
                }
            }
        }
    }
}
