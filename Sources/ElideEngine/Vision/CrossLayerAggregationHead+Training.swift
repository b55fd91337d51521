import ElideSupport
import Foundation

extension CrossLayerAggregationHead {
    /// AdamW settings for training the head on precomputed features.
    public struct TrainingSettings: Sendable {
        public var epochs = 40
        public var batchSize = 64
        public var learningRate = 1e-3
        /// Decoupled weight decay on the two convolution weights (not on biases or BatchNorm).
        public var weightDecay = 0.05
        public var seed: UInt64 = 0

        public init() {}
    }

    /// Batch statistics of one training-mode forward pass, for updating the running averages.
    struct BatchStatistics {
        var mean1: [Double], variance1: [Double], mean2: [Double], variance2: [Double]
    }

    /// Returns the mean cross-entropy of a batch in training mode (BatchNorm on batch statistics), its
    /// gradient with respect to `parameters`, and the batch statistics.
    func lossAndGradient(examples: [[Float]], labels: [Int]) -> (
        loss: Double, gradient: [Double], statistics: BatchStatistics
    ) {
        let p = layout
        let d = width
        let g = depths
        let b = examples.count
        let positions = Double(b * g)

        // BatchNorm1d(D) over batch and depth: statistics per channel over B · G values.
        var mean1 = [Double](repeating: 0, count: d)
        var variance1 = [Double](repeating: 0, count: d)
        for example in examples {
            for depth in 0..<g { for channel in 0..<d { mean1[channel] += Double(example[depth * d + channel]) } }
        }
        for channel in 0..<d { mean1[channel] /= positions }
        for example in examples {
            for depth in 0..<g {
                for channel in 0..<d {
                    let centred = Double(example[depth * d + channel]) - mean1[channel]
                    variance1[channel] += centred * centred
                }
            }
        }
        for channel in 0..<d { variance1[channel] /= positions }
        let inverse1 = variance1.map { 1 / ($0 + Self.epsilon).squareRoot() }
        // normalised1 and y1: (B, G, D).
        var normalised1 = [Double](repeating: 0, count: b * g * d)
        var y1 = normalised1
        for (row, example) in examples.enumerated() {
            for depth in 0..<g {
                for channel in 0..<d {
                    let index = (row * g + depth) * d + channel
                    normalised1[index] = (Double(example[depth * d + channel]) - mean1[channel]) * inverse1[channel]
                    y1[index] =
                        parameters[p.gamma1.lowerBound + channel] * normalised1[index]
                        + parameters[p.beta1.lowerBound + channel]
                }
            }
        }

        // Depthwise convolution: z (B, 2D), output channel o reads input channel o / 2.
        var z = [Double](repeating: 0, count: b * 2 * d)
        for row in 0..<b {
            for output in 0..<(2 * d) {
                var sum = parameters[p.depthwiseBias.lowerBound + output]
                for depth in 0..<g {
                    sum +=
                        parameters[p.depthwise.lowerBound + output * g + depth] * y1[(row * g + depth) * d + output / 2]
                }
                z[row * 2 * d + output] = sum
            }
        }

        // BatchNorm1d(2D) over the batch, then GELU.
        var mean2 = [Double](repeating: 0, count: 2 * d)
        var variance2 = [Double](repeating: 0, count: 2 * d)
        for row in 0..<b { for output in 0..<(2 * d) { mean2[output] += z[row * 2 * d + output] / Double(b) } }
        for row in 0..<b {
            for output in 0..<(2 * d) {
                let centred = z[row * 2 * d + output] - mean2[output]
                variance2[output] += centred * centred / Double(b)
            }
        }
        let inverse2 = variance2.map { 1 / ($0 + Self.epsilon).squareRoot() }
        var normalised2 = z
        var y2 = z
        var hidden = z
        for row in 0..<b {
            for output in 0..<(2 * d) {
                let index = row * 2 * d + output
                normalised2[index] = (z[index] - mean2[output]) * inverse2[output]
                y2[index] =
                    parameters[p.gamma2.lowerBound + output] * normalised2[index]
                    + parameters[p.beta2.lowerBound + output]
                hidden[index] = gelu(y2[index])
            }
        }

        // Pointwise convolution and softmax cross-entropy; dLogits = (softmax − one-hot) / B.
        var gradient = [Double](repeating: 0, count: parameters.count)
        var dHidden = [Double](repeating: 0, count: b * 2 * d)
        var loss = 0.0
        for row in 0..<b {
            var logits = (0..<classCount).map { klass in
                var sum = parameters[p.pointwiseBias.lowerBound + klass]
                for channel in 0..<(2 * d) {
                    sum += parameters[p.pointwise.lowerBound + klass * 2 * d + channel] * hidden[row * 2 * d + channel]
                }
                return sum
            }
            let maximum = logits.max()!  // !-safe: classCount ≥ 1.
            let total = logits.reduce(0) { $0 + exp($1 - maximum) }
            loss += (maximum + log(total) - logits[labels[row]]) / Double(b)
            for klass in 0..<classCount { logits[klass] = exp(logits[klass] - maximum) / total }
            logits[labels[row]] -= 1
            for klass in 0..<classCount {
                let dLogit = logits[klass] / Double(b)
                gradient[p.pointwiseBias.lowerBound + klass] += dLogit
                for channel in 0..<(2 * d) {
                    gradient[p.pointwise.lowerBound + klass * 2 * d + channel] += dLogit * hidden[row * 2 * d + channel]
                    dHidden[row * 2 * d + channel] +=
                        dLogit * parameters[p.pointwise.lowerBound + klass * 2 * d + channel]
                }
            }
        }

        // Back through GELU and BatchNorm1d(2D) (training mode: the batch statistics depend on z).
        var dZ = [Double](repeating: 0, count: b * 2 * d)
        for output in 0..<(2 * d) {
            var sumDNormalised = 0.0
            var sumDNormalisedTimesNormalised = 0.0
            var dNormalised = [Double](repeating: 0, count: b)
            for row in 0..<b {
                let index = row * 2 * d + output
                let dY2 = dHidden[index] * geluDerivative(y2[index])
                gradient[p.gamma2.lowerBound + output] += dY2 * normalised2[index]
                gradient[p.beta2.lowerBound + output] += dY2
                dNormalised[row] = dY2 * parameters[p.gamma2.lowerBound + output]
                sumDNormalised += dNormalised[row]
                sumDNormalisedTimesNormalised += dNormalised[row] * normalised2[index]
            }
            for row in 0..<b {
                let index = row * 2 * d + output
                dZ[index] =
                    inverse2[output] / Double(b)
                    * (Double(b) * dNormalised[row] - sumDNormalised - normalised2[index]
                        * sumDNormalisedTimesNormalised)
            }
        }

        // Back through the depthwise convolution into y1.
        var dY1 = [Double](repeating: 0, count: b * g * d)
        for row in 0..<b {
            for output in 0..<(2 * d) {
                let dOutput = dZ[row * 2 * d + output]
                gradient[p.depthwiseBias.lowerBound + output] += dOutput
                for depth in 0..<g {
                    let index = (row * g + depth) * d + output / 2
                    gradient[p.depthwise.lowerBound + output * g + depth] += dOutput * y1[index]
                    dY1[index] += dOutput * parameters[p.depthwise.lowerBound + output * g + depth]
                }
            }
        }

        // BatchNorm1d(D): only gamma and beta need gradients because the features are frozen.
        for index in 0..<(b * g * d) {
            let channel = index % d
            gradient[p.gamma1.lowerBound + channel] += dY1[index] * normalised1[index]
            gradient[p.beta1.lowerBound + channel] += dY1[index]
        }
        let statistics = BatchStatistics(mean1: mean1, variance1: variance1, mean2: mean2, variance2: variance2)
        return (loss, gradient, statistics)
    }

    /// Trains the head with AdamW on `examples` (each G × D, depth-major), shuffling with `settings.seed`.
    /// Returns the mean training loss of each epoch.
    @discardableResult
    public mutating func train(examples: [[Float]], labels: [Int], settings: TrainingSettings = TrainingSettings())
        -> [Double]
    {
        precondition(examples.count == labels.count && examples.count >= 2, "BatchNorm needs at least two examples")
        let p = layout
        let decayed = Set(Array(p.depthwise) + Array(p.pointwise))
        var first = [Double](repeating: 0, count: parameters.count)
        var second = first
        var step = 0
        var generator = SeededGenerator(seed: settings.seed)
        var epochLosses: [Double] = []
        for _ in 0..<settings.epochs {
            var order = Array(examples.indices)
            order.shuffle(using: &generator)
            var epochLoss = 0.0
            var batches = 0
            for start in stride(from: 0, to: order.count, by: settings.batchSize) {
                let batch = Array(order[start..<min(order.count, start + settings.batchSize)])
                // A trailing batch of one is skipped: its BatchNorm variance would be zero.
                guard batch.count >= 2 else { continue }
                let (loss, gradient, statistics) = lossAndGradient(
                    examples: batch.map { examples[$0] }, labels: batch.map { labels[$0] })
                updateRunningStatistics(statistics, batchSize: batch.count)
                step += 1
                let correction1 = 1 - pow(0.9, Double(step))
                let correction2 = 1 - pow(0.999, Double(step))
                for index in parameters.indices {
                    if decayed.contains(index) {
                        parameters[index] -= settings.learningRate * settings.weightDecay * parameters[index]
                    }
                    first[index] = 0.9 * first[index] + 0.1 * gradient[index]
                    second[index] = 0.999 * second[index] + 0.001 * gradient[index] * gradient[index]
                    parameters[index] -=
                        settings.learningRate * (first[index] / correction1)
                        / ((second[index] / correction2).squareRoot() + 1e-8)
                }
                epochLoss += loss
                batches += 1
            }
            epochLosses.append(epochLoss / Double(max(1, batches)))
        }
        return epochLosses
    }

    mutating func updateRunningStatistics(_ statistics: BatchStatistics, batchSize: Int) {
        let momentum = 0.1
        let correction1 = Double(batchSize * depths) / Double(max(1, batchSize * depths - 1))
        let correction2 = Double(batchSize) / Double(max(1, batchSize - 1))
        for channel in 0..<width {
            runningMean1[channel] = (1 - momentum) * runningMean1[channel] + momentum * statistics.mean1[channel]
            runningVariance1[channel] =
                (1 - momentum) * runningVariance1[channel] + momentum * statistics.variance1[channel] * correction1
        }
        for output in 0..<(2 * width) {
            runningMean2[output] = (1 - momentum) * runningMean2[output] + momentum * statistics.mean2[output]
            runningVariance2[output] =
                (1 - momentum) * runningVariance2[output] + momentum * statistics.variance2[output] * correction2
        }
    }
}
