import ElideSupport
import Foundation

/// CLCA's cross-layer aggregation (CLA) head, trained on frozen backbone features.
///
/// Input: the CLS token from each of G depths (each reduction layer and the last layer), stacked as a
/// D × G matrix. Layers: BatchNorm1d(D) over the batch and the G positions, a depthwise convolution D → 2D with
/// kernel G and groups D (each input channel feeds two output channels), BatchNorm1d(2D), GELU (erf form), and a
/// pointwise convolution 2D → classes. This follows "Cross-Layer Cache Aggregation for Token
/// Reduction in Ultra-Fine-Grained Image Recognition" (ICASSP 2025, arXiv 2501.00243). Arithmetic is in Double
/// so the finite-difference gradient check is meaningful.
public struct CrossLayerAggregationHead: Sendable {
    public let width: Int
    public let depths: Int
    public let classCount: Int
    /// All trainable parameters in one vector; `Layout` gives each tensor's range.
    public internal(set) var parameters: [Double]
    /// BatchNorm running mean and variance (momentum 0.1, unbiased variance, as PyTorch keeps them).
    var runningMean1: [Double]
    var runningVariance1: [Double]
    var runningMean2: [Double]
    var runningVariance2: [Double]
    static let epsilon = 1e-5

    /// Ranges of each tensor inside `parameters`.
    struct Layout {
        let gamma1, beta1, depthwise, depthwiseBias, gamma2, beta2, pointwise, pointwiseBias: Range<Int>

        init(width d: Int, depths g: Int, classes c: Int) {
            var offset = 0
            func next(_ count: Int) -> Range<Int> {
                defer { offset += count }
                return offset..<(offset + count)
            }
            gamma1 = next(d)
            beta1 = next(d)
            depthwise = next(2 * d * g)  // (2D, G)
            depthwiseBias = next(2 * d)
            gamma2 = next(2 * d)
            beta2 = next(2 * d)
            pointwise = next(c * 2 * d)  // (classes, 2D)
            pointwiseBias = next(c)
            count = offset
        }
        let count: Int
    }

    var layout: Layout { Layout(width: width, depths: depths, classes: classCount) }

    /// Creates a head with PyTorch's default initialisation (uniform ±1/√fan-in for convolutions), seeded.
    public init(width: Int, depths: Int, classCount: Int, seed: UInt64) {
        self.width = width
        self.depths = depths
        self.classCount = classCount
        let layout = Layout(width: width, depths: depths, classes: classCount)
        var parameters = [Double](repeating: 0, count: layout.count)
        var generator = SeededGenerator(seed: seed)
        func uniform(_ range: Range<Int>, bound: Double) {
            for index in range { parameters[index] = (Double(generator.nextUnitFloat()) * 2 - 1) * bound }
        }
        for index in layout.gamma1 { parameters[index] = 1 }
        for index in layout.gamma2 { parameters[index] = 1 }
        uniform(layout.depthwise, bound: 1 / Double(depths).squareRoot())
        uniform(layout.depthwiseBias, bound: 1 / Double(depths).squareRoot())
        uniform(layout.pointwise, bound: 1 / Double(2 * width).squareRoot())
        uniform(layout.pointwiseBias, bound: 1 / Double(2 * width).squareRoot())
        self.parameters = parameters
        runningMean1 = [Double](repeating: 0, count: width)
        runningVariance1 = [Double](repeating: 1, count: width)
        runningMean2 = [Double](repeating: 0, count: 2 * width)
        runningVariance2 = [Double](repeating: 1, count: 2 * width)
    }

    // MARK: - Inference

    /// Returns class logits for one example: `stacked` contains G CLS vectors of width D, depth-major (G × D).
    public func logits(_ stacked: [Float]) -> [Double] {
        let p = layout
        let d = width
        let g = depths
        var hidden = [Double](repeating: 0, count: 2 * d)
        for channel in 0..<d {
            let scale =
                parameters[p.gamma1.lowerBound + channel] / (runningVariance1[channel] + Self.epsilon).squareRoot()
            for output in (2 * channel)..<(2 * channel + 2) {
                var sum = parameters[p.depthwiseBias.lowerBound + output]
                for depth in 0..<g {
                    let normalised =
                        (Double(stacked[depth * d + channel]) - runningMean1[channel]) * scale
                        + parameters[p.beta1.lowerBound + channel]
                    sum += parameters[p.depthwise.lowerBound + output * g + depth] * normalised
                }
                let bn = (sum - runningMean2[output]) / (runningVariance2[output] + Self.epsilon).squareRoot()
                hidden[output] = gelu(
                    parameters[p.gamma2.lowerBound + output] * bn + parameters[p.beta2.lowerBound + output])
            }
        }
        return (0..<classCount).map { klass in
            var sum = parameters[p.pointwiseBias.lowerBound + klass]
            for channel in 0..<(2 * d) {
                sum += parameters[p.pointwise.lowerBound + klass * 2 * d + channel] * hidden[channel]
            }
            return sum
        }
    }

    /// Returns the predicted class of each stacked example.
    public func predict(_ examples: [[Float]]) -> [Int] {
        examples.map { example in
            let scores = logits(example)
            return scores.indices.max { scores[$0] < scores[$1] }!  // !-safe: classCount ≥ 1.
        }
    }

    public func accuracy(examples: [[Float]], labels: [Int]) -> Double {
        let correct = zip(predict(examples), labels).filter { $0 == $1 }.count
        return Double(correct) / Double(max(1, labels.count))
    }
}

/// GELU in its exact form, x · Φ(x).
func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }

/// Derivative of the exact GELU.
func geluDerivative(_ x: Double) -> Double {
    0.5 * (1 + erf(x / 2.0.squareRoot())) + x * exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
}
