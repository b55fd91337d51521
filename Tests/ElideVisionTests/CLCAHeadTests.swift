import ElideSupport
import Testing

@testable import ElideEngine

@Suite struct CLCAHeadTests {
    /// Returns a small batch of stacked CLS features: `count` examples of `depths` × `width`.
    static func batch(count: Int, width: Int, depths: Int, classes: Int, seed: UInt64) -> ([[Float]], [Int]) {
        var generator = SeededGenerator(seed: seed)
        let labels = (0..<count).map { $0 % classes }
        let examples = labels.map { label in
            (0..<(width * depths)).map { index in
                generator.nextUnitFloat() * 2 - 1 + (index % classes == label ? 1.5 : 0)
            }
        }
        return (examples, labels)
    }

    @Test func gradientMatchesFiniteDifferences() {
        var head = CrossLayerAggregationHead(width: 5, depths: 3, classCount: 4, seed: 1)
        // Move BatchNorm scales away from 1 so their gradients are not trivially symmetric.
        var generator = SeededGenerator(seed: 9)
        for index in head.parameters.indices { head.parameters[index] += Double(generator.nextUnitFloat()) * 0.2 - 0.1 }
        let (examples, labels) = Self.batch(count: 6, width: 5, depths: 3, classes: 4, seed: 2)
        let (_, gradient, _) = head.lossAndGradient(examples: examples, labels: labels)
        let step = 1e-6
        var worst = 0.0
        for index in head.parameters.indices {
            var plus = head
            plus.parameters[index] += step
            var minus = head
            minus.parameters[index] -= step
            let numeric =
                (plus.lossAndGradient(examples: examples, labels: labels).loss
                    - minus.lossAndGradient(examples: examples, labels: labels).loss) / (2 * step)
            let error = abs(numeric - gradient[index]) / max(1e-4, abs(numeric) + abs(gradient[index]))
            worst = max(worst, error)
        }
        #expect(worst < 1e-4)
    }

    @Test func trainingLearnsSeparableClasses() {
        let (examples, labels) = Self.batch(count: 80, width: 8, depths: 4, classes: 4, seed: 3)
        var head = CrossLayerAggregationHead(width: 8, depths: 4, classCount: 4, seed: 4)
        let before = head.accuracy(examples: examples, labels: labels)
        var settings = CrossLayerAggregationHead.TrainingSettings()
        settings.epochs = 30
        settings.batchSize = 16
        settings.learningRate = 1e-2
        let losses = head.train(examples: examples, labels: labels, settings: settings)
        #expect(losses.last! < losses.first! * 0.5)
        let (test, testLabels) = Self.batch(count: 40, width: 8, depths: 4, classes: 4, seed: 5)
        #expect(head.accuracy(examples: test, labels: testLabels) > 0.9)
        #expect(before < 0.9)
    }
}
