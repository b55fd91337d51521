import ElideModels
import ElideSupport

/// Central finite-difference checks of analytic gradients, with the loss accumulated in Double.
enum GradientCheck {
    /// Step for the central difference. Large enough that Float rounding of the loss (≈1e-7 relative) stays
    /// far below the difference it measures, and small enough for the smooth losses' curvature.
    static let step: Float = 1e-2

    /// ‖analytic − numeric‖ / ‖analytic + numeric‖ over whole vectors, so one value near a kink cannot dominate.
    static func relativeError(_ analytic: [Float], _ numeric: [Double]) -> Double {
        var difference = 0.0
        var sum = 0.0
        for (a, n) in zip(analytic, numeric) {
            difference += (Double(a) - n) * (Double(a) - n)
            sum += (Double(a) + n) * (Double(a) + n)
        }
        return sum == 0 ? difference.squareRoot() : (difference / sum).squareRoot()
    }

    /// Returns the central-difference gradient of `loss` with respect to every value of `values`.
    static func numericGradient(_ values: inout [Float], loss: ([Float]) -> Double) -> [Double] {
        var gradient = [Double](repeating: 0, count: values.count)
        for index in values.indices {
            let original = values[index]
            values[index] = original + step
            let above = loss(values)
            values[index] = original - step
            let below = loss(values)
            values[index] = original
            gradient[index] = (above - below) / Double(2 * step)
        }
        return gradient
    }

    /// Returns the relative errors of a layer's input and parameter gradients for the loss Σ upstream · output, where
    /// `upstream` is a fixed random vector.
    static func layerErrors(
        _ layer: any TrainableLayer, batch: Int, input: [Float], parameters: [Float], seed: UInt64
    ) -> (input: Double, parameters: Double) {
        var generator = SeededGenerator(seed: seed)
        let outputCount = batch * layer.outputShape.count
        let upstream = (0..<outputCount).map { _ in 2 * generator.nextUnitFloat() - 1 }
        var scratch = [Float](repeating: 0, count: max(1, layer.scratchCount(batch: batch)))

        func outputs(_ input: [Float], _ parameters: [Float]) -> [Float] {
            var output = [Float](repeating: 0, count: outputCount)
            layer.forward(
                input: input, output: &output, batch: batch, parameters: parameters + [0], scratch: &scratch)
            return output
        }
        func loss(_ input: [Float], _ parameters: [Float]) -> Double {
            zip(outputs(input, parameters), upstream).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }

        // Analytic gradients from one forward and one backward pass.
        let output = outputs(input, parameters)
        var inputGradient = [Float](repeating: 0, count: input.count)
        var parameterGradient = [Float](repeating: 0, count: max(1, parameters.count))
        inputGradient.withUnsafeMutableBufferPointer { inputGradient in
            layer.backward(
                input: input, output: output, outputGradient: upstream, inputGradient: inputGradient.baseAddress,
                batch: batch, parameters: parameters + [0], parameterGradient: &parameterGradient, scratch: &scratch)
        }

        var inputCopy = input
        var parameterCopy = parameters
        let numericInput = numericGradient(&inputCopy) { loss($0, parameters) }
        let numericParameters = numericGradient(&parameterCopy) { loss(input, $0) }
        return (
            relativeError(inputGradient, numericInput),
            relativeError(Array(parameterGradient.prefix(parameters.count)), numericParameters)
        )
    }
}

extension SeededGenerator {
    /// `count` uniform values in [-1, 1).
    mutating func uniformValues(_ count: Int) -> [Float] {
        (0..<count).map { _ in 2 * nextUnitFloat() - 1 }
    }

    /// `count` values with magnitude in [0.1, 1.1), away from ReLU's kink at 0.
    mutating func valuesAwayFromZero(_ count: Int) -> [Float] {
        (0..<count).map { _ in
            let magnitude = 0.1 + nextUnitFloat()
            return next() & 1 == 0 ? magnitude : -magnitude
        }
    }

    /// `count` distinct values 0.05 apart in random order, so no two values of a pooling window are within
    /// the finite-difference step of each other.
    mutating func distinctValues(_ count: Int) -> [Float] {
        var values = (0..<count).map { Float($0) * 0.05 - Float(count) * 0.025 }
        for position in stride(from: count - 1, to: 0, by: -1) {
            values.swapAt(position, Int(next() % UInt64(position + 1)))
        }
        return values
    }
}
