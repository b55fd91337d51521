import ElideTensor
import Foundation

/// A linear probe: softmax regression on standardised features, trained by full-batch Adam with L2 decay.
///
/// The probe is trained once on the full model's features and then scores the features a policy produces,
/// so accuracy drops measure how far a policy moves the features, not how well a new classifier adapts.
public struct LinearProbe: Sendable {
    public struct Settings: Sendable {
        /// Full-batch Adam steps.
        public var steps = 300
        public var learningRate: Float = 0.01
        /// L2 penalty on the weights (not the bias), added to the mean cross-entropy.
        public var weightDecay: Float = 1e-4

        public init() {}
    }

    public let classCount: Int
    public let dimension: Int
    /// Per-feature mean and 1/std of the training features; test features are standardised with them.
    let mean: [Float]
    let inverseStd: [Float]
    /// (classCount, dimension), row-major.
    let weights: [Float]
    let bias: [Float]

    /// Trains a probe on `features` (one row per example, all the same width) with `labels` in 0..<classCount.
    public static func train(
        features: [[Float]], labels: [Int], classCount: Int, settings: Settings = Settings()
    ) -> LinearProbe {
        precondition(!features.isEmpty && features.count == labels.count, "one label per feature row")
        let count = features.count
        let dimension = features[0].count
        let (mean, inverseStd) = standardisation(features)
        let inputs = standardised(features, mean: mean, inverseStd: inverseStd)

        var weights = [Float](repeating: 0, count: classCount * dimension)
        var bias = [Float](repeating: 0, count: classCount)
        var optimiser = AdamState(count: weights.count + bias.count)
        var probabilities = [Float](repeating: 0, count: count * classCount)
        var gradient = [Float](repeating: 0, count: weights.count + bias.count)
        for _ in 0..<settings.steps {
            // Forward: probabilities = softmax(inputs · weightsᵀ + bias).
            logits(inputs, count: count, weights: weights, bias: bias, classCount: classCount, into: &probabilities)
            for row in 0..<count {
                softmaxInPlace(&probabilities, offset: row * classCount, count: classCount)
                probabilities[row * classCount + labels[row]] -= 1
            }

            // Backward: dL/dW = (P − Y)ᵀ · X / n + λW, dL/db = column sums of (P − Y) / n.
            gradient.withUnsafeMutableBufferPointer { g in
                probabilities.withUnsafeBufferPointer { p in
                    inputs.withUnsafeBufferPointer { x in
                        Kernels.sgemm(
                            m: classCount, n: dimension, k: count, alpha: 1 / Float(count), a: p.baseAddress!,
                            lda: classCount, transposeA: true, b: x.baseAddress!, ldb: dimension, transposeB: false,
                            c: g.baseAddress!, ldc: dimension)
                    }
                }
            }
            for index in 0..<weights.count { gradient[index] += settings.weightDecay * weights[index] }
            for klass in 0..<classCount {
                var sum: Float = 0
                for row in 0..<count { sum += probabilities[row * classCount + klass] }
                gradient[weights.count + klass] = sum / Float(count)
            }
            optimiser.step(gradient: gradient, learningRate: settings.learningRate) { index, delta in
                if index < weights.count { weights[index] -= delta } else { bias[index - weights.count] -= delta }
            }
        }
        return LinearProbe(
            classCount: classCount, dimension: dimension, mean: mean, inverseStd: inverseStd, weights: weights,
            bias: bias)
    }

    /// Returns the most likely class of each feature row.
    public func predict(_ features: [[Float]]) -> [Int] {
        guard !features.isEmpty else { return [] }
        let inputs = Self.standardised(features, mean: mean, inverseStd: inverseStd)
        var scores = [Float](repeating: 0, count: features.count * classCount)
        Self.logits(inputs, count: features.count, weights: weights, bias: bias, classCount: classCount, into: &scores)
        return (0..<features.count).map { row in
            let slice = scores[(row * classCount)..<((row + 1) * classCount)]
            return slice.indices.max { slice[$0] < slice[$1] }! - row * classCount  // !-safe: classCount ≥ 1.
        }
    }

    /// Fraction of rows whose predicted class equals the label.
    public func accuracy(features: [[Float]], labels: [Int]) -> Double {
        let predictions = predict(features)
        let correct = zip(predictions, labels).filter { $0 == $1 }.count
        return Double(correct) / Double(max(1, labels.count))
    }

    // MARK: - Helpers

    static func standardisation(_ features: [[Float]]) -> (mean: [Float], inverseStd: [Float]) {
        let dimension = features[0].count
        var mean = [Double](repeating: 0, count: dimension)
        var square = [Double](repeating: 0, count: dimension)
        for row in features {
            for column in 0..<dimension {
                mean[column] += Double(row[column])
                square[column] += Double(row[column]) * Double(row[column])
            }
        }
        let count = Double(features.count)
        let means = mean.map { Float($0 / count) }
        let inverseStd = (0..<dimension).map { column -> Float in
            let variance = max(0, square[column] / count - (mean[column] / count) * (mean[column] / count))
            return Float(1 / (variance + 1e-6).squareRoot())
        }
        return (means, inverseStd)
    }

    static func standardised(_ features: [[Float]], mean: [Float], inverseStd: [Float]) -> [Float] {
        var inputs = [Float]()
        inputs.reserveCapacity(features.count * mean.count)
        for row in features {
            for column in 0..<mean.count { inputs.append((row[column] - mean[column]) * inverseStd[column]) }
        }
        return inputs
    }

    /// Writes inputs · weightsᵀ + bias into `output` (count × classCount).
    static func logits(
        _ inputs: [Float], count: Int, weights: [Float], bias: [Float], classCount: Int, into output: inout [Float]
    ) {
        let dimension = weights.count / classCount
        for row in 0..<count {
            for klass in 0..<classCount { output[row * classCount + klass] = bias[klass] }
        }
        output.withUnsafeMutableBufferPointer { out in
            inputs.withUnsafeBufferPointer { x in
                weights.withUnsafeBufferPointer { w in
                    Kernels.sgemm(
                        m: count, n: classCount, k: dimension, a: x.baseAddress!, lda: dimension,
                        b: w.baseAddress!, ldb: dimension, transposeB: true, beta: 1, c: out.baseAddress!,
                        ldc: classCount)
                }
            }
        }
    }
}

/// Replaces `count` logits starting at `offset` with their softmax.
func softmaxInPlace(_ values: inout [Float], offset: Int, count: Int) {
    var maximum = -Float.infinity
    for index in offset..<(offset + count) { maximum = max(maximum, values[index]) }
    var sum: Float = 0
    for index in offset..<(offset + count) {
        values[index] = (values[index] - maximum).exp
        sum += values[index]
    }
    for index in offset..<(offset + count) { values[index] /= sum }
}

extension Float {
    fileprivate var exp: Float { Float(Foundation.exp(Double(self))) }
}

/// Adam's moment estimates (β1 = 0.9, β2 = 0.999, ε = 1e-8) for a flat parameter vector.
struct AdamState {
    var first: [Float]
    var second: [Float]
    var step = 0

    init(count: Int) {
        first = [Float](repeating: 0, count: count)
        second = [Float](repeating: 0, count: count)
    }

    /// Updates the moments with `gradient` and calls `apply(index, delta)` with the amount to subtract.
    mutating func step(gradient: [Float], learningRate: Float, apply: (Int, Float) -> Void) {
        step += 1
        let correction1 = 1 - Float(Foundation.pow(0.9, Double(step)))
        let correction2 = 1 - Float(Foundation.pow(0.999, Double(step)))
        for index in gradient.indices {
            first[index] = 0.9 * first[index] + 0.1 * gradient[index]
            second[index] = 0.999 * second[index] + 0.001 * gradient[index] * gradient[index]
            let delta =
                learningRate * (first[index] / correction1) / ((second[index] / correction2).squareRoot() + 1e-8)
            apply(index, delta)
        }
    }
}
