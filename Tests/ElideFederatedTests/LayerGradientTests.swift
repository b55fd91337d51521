import ElideModels
import ElideSupport
import Foundation
import Testing

/// Gradient checks of every trainable layer and loss against central finite differences.
@Suite struct LayerGradientTests {
    static let tolerance = 1e-2

    @Test(arguments: [0, 1, 2])
    func conv2DGradients(padding: Int) {
        let layer = Conv2D(
            input: FeatureShape(channels: 2, height: 6, width: 5), outputChannels: 3, kernel: 3, padding: padding)
        var generator = SeededGenerator(seed: 11 + UInt64(padding))
        let input = generator.uniformValues(2 * layer.inputShape.count)
        let parameters = generator.uniformValues(layer.parameterCount)
        let errors = GradientCheck.layerErrors(layer, batch: 2, input: input, parameters: parameters, seed: 3)
        #expect(errors.input < Self.tolerance)
        #expect(errors.parameters < Self.tolerance)
    }

    @Test func denseGradients() {
        let layer = Dense(inputs: 7, outputs: 4)
        var generator = SeededGenerator(seed: 21)
        let input = generator.uniformValues(3 * 7)
        let parameters = generator.uniformValues(layer.parameterCount)
        let errors = GradientCheck.layerErrors(layer, batch: 3, input: input, parameters: parameters, seed: 4)
        #expect(errors.input < Self.tolerance)
        #expect(errors.parameters < Self.tolerance)
    }

    @Test func reluGradients() {
        let layer = ReLU(shape: FeatureShape(channels: 2, height: 3, width: 3))
        var generator = SeededGenerator(seed: 31)
        let input = generator.valuesAwayFromZero(2 * layer.inputShape.count)
        let errors = GradientCheck.layerErrors(layer, batch: 2, input: input, parameters: [], seed: 5)
        #expect(errors.input < Self.tolerance)
    }

    @Test func maxPoolGradients() {
        // 5x7 input: the odd last row and column are dropped and must get a zero gradient.
        let layer = MaxPool2D(input: FeatureShape(channels: 2, height: 5, width: 7))
        var generator = SeededGenerator(seed: 41)
        let input = generator.distinctValues(2 * layer.inputShape.count)
        let errors = GradientCheck.layerErrors(layer, batch: 2, input: input, parameters: [], seed: 6)
        #expect(layer.outputShape == FeatureShape(channels: 2, height: 2, width: 3))
        #expect(errors.input < Self.tolerance)
    }

    @Test func flattenGradients() {
        let layer = Flatten(shape: FeatureShape(channels: 2, height: 2, width: 3))
        var generator = SeededGenerator(seed: 51)
        let input = generator.uniformValues(2 * 12)
        let errors = GradientCheck.layerErrors(layer, batch: 2, input: input, parameters: [], seed: 7)
        #expect(layer.outputShape == .flat(12))
        #expect(errors.input < Self.tolerance)
    }

    @Test func crossEntropyGradient() {
        let (batch, classes) = (3, 5)
        var generator = SeededGenerator(seed: 61)
        var logits = generator.uniformValues(batch * classes).map { 3 * $0 }
        let labels = [4, 0, 2]
        func loss(_ logits: [Float]) -> Double {
            var gradient = [Float](repeating: 0, count: batch * classes)
            return labels.withUnsafeBufferPointer {
                SoftmaxCrossEntropy.loss(logits: logits, labels: $0, classes: classes, gradient: &gradient)
            }
        }
        var gradient = [Float](repeating: 0, count: batch * classes)
        let value = labels.withUnsafeBufferPointer {
            SoftmaxCrossEntropy.loss(logits: logits, labels: $0, classes: classes, gradient: &gradient)
        }
        let numeric = GradientCheck.numericGradient(&logits, loss: loss)

        // The loss itself, by the textbook formula: mean of log Σ exp(z) − z_label.
        var expected = 0.0
        for sample in 0..<batch {
            let row = logits[(sample * classes)..<((sample + 1) * classes)].map(Double.init)
            expected += Foundation.log(row.map { Foundation.exp($0) }.reduce(0, +)) - row[labels[sample]]
        }
        #expect(abs(value - expected / Double(batch)) < 1e-5)
        #expect(GradientCheck.relativeError(gradient, numeric) < Self.tolerance)
    }

    @Test(arguments: [Float(1), 2, 4])
    func distillationGradient(temperature: Float) {
        let (batch, classes) = (2, 4)
        var generator = SeededGenerator(seed: 71)
        var student = generator.uniformValues(batch * classes).map { 3 * $0 }
        let teacher = generator.uniformValues(batch * classes).map { 3 * $0 }
        func loss(_ student: [Float]) -> Double {
            var gradient = [Float](repeating: 0, count: batch * classes)
            return DistillationLoss.loss(
                student: student, teacher: teacher, batch: batch, classes: classes, temperature: temperature,
                gradient: &gradient)
        }
        var gradient = [Float](repeating: 0, count: batch * classes)
        let value = DistillationLoss.loss(
            student: student, teacher: teacher, batch: batch, classes: classes, temperature: temperature,
            gradient: &gradient)
        let numeric = GradientCheck.numericGradient(&student, loss: loss)

        // T² · KL(p_teacher ‖ p_student) at temperature T, by the textbook formula.
        var expected = 0.0
        for sample in 0..<batch {
            let range = (sample * classes)..<((sample + 1) * classes)
            let p = softmax(teacher[range].map { Double($0 / temperature) })
            let q = softmax(student[range].map { Double($0 / temperature) })
            expected += zip(p, q).reduce(0.0) { $0 + $1.0 * Foundation.log($1.0 / $1.1) }
        }
        expected *= Double(temperature * temperature) / Double(batch)
        #expect(abs(value - expected) < 1e-5)
        #expect(GradientCheck.relativeError(gradient, numeric) < Self.tolerance)
    }

    @Test func distillationLossZeroForEqualLogits() {
        let logits: [Float] = [0.5, -1, 2, 0.25]
        var gradient = [Float](repeating: 1, count: 4)
        let value = DistillationLoss.loss(
            student: logits, teacher: logits, batch: 1, classes: 4, temperature: 2, gradient: &gradient)
        #expect(abs(value) < 1e-7)
        #expect(gradient.allSatisfy { abs($0) < 1e-7 })
    }

    private func softmax(_ values: [Double]) -> [Double] {
        let maximum = values.max()!  // !-safe: rows are non-empty
        let exponentials = values.map { Foundation.exp($0 - maximum) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { $0 / sum }
    }
}
