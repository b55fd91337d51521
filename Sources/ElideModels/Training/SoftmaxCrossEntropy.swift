#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Softmax cross-entropy between logits and integer labels, averaged over the batch.
public enum SoftmaxCrossEntropy {
    /// Returns the mean loss over `batch` rows of `logits` (batch × classes) and writes
    /// `weight · ∂loss/∂logits = weight · (softmax(logits) − onehot(label)) / batch` to `gradient`, adding to
    /// what it holds when `accumulate` is true.
    @discardableResult
    public static func loss(
        logits: UnsafePointer<Float>, labels: UnsafeBufferPointer<Int>, classes: Int,
        gradient: UnsafeMutablePointer<Float>, weight: Float = 1, accumulate: Bool = false
    ) -> Double {
        let batch = labels.count
        var total: Double = 0
        let scale = weight / Float(batch)
        for sample in 0..<batch {
            let row = logits + sample * classes
            let target = gradient + sample * classes
            let label = labels[sample]
            precondition(label >= 0 && label < classes, "label \(label) of sample \(sample) is outside 0..<\(classes)")
            let (logSum, maximum) = Softmax.logSumExp(row, count: classes, temperature: 1)
            total += Double(logSum + maximum - row[label])
            for index in 0..<classes {
                let probability = expf(row[index] - maximum - logSum)
                let value = scale * (probability - (index == label ? 1 : 0))
                target[index] = accumulate ? target[index] + value : value
            }
        }
        return total / Double(batch)
    }
}

/// Numerically stable softmax helpers at a temperature.
enum Softmax {
    /// Returns `(log Σ exp((x_i − max) / T), max)` over `count` values, so that
    /// `softmax_T(x)_i = exp((x_i − max) / T − logSum)`.
    @inline(__always)
    static func logSumExp(_ row: UnsafePointer<Float>, count: Int, temperature: Float) -> (Float, Float) {
        var maximum = row[0]
        for index in 1..<count {
            maximum = max(maximum, row[index])
        }
        var sum: Float = 0
        for index in 0..<count {
            sum += expf((row[index] - maximum) / temperature)
        }
        return (logf(sum), maximum)
    }
}
