import ElideModels
import Testing

@Suite struct SGDTests {
    /// Two steps on three numbers, worked by hand with v ← μv + (g + λw), w ← w − η·v.
    @Test func momentumAndWeightDecayByHand() {
        let optimizer = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        var parameters: [Float] = [1, -2, 0.5]
        var velocity: [Float] = [0, 0, 0]

        // Step 1: v = g + 0.01·w = [0.5 + 0.01, -1 - 0.02, 0 + 0.005]; w −= 0.1·v.
        optimizer.step(parameters: &parameters, velocity: &velocity, gradient: [0.5, -1, 0], count: 3)
        expectClose(velocity, [0.51, -1.02, 0.005])
        expectClose(parameters, [0.949, -1.898, 0.4995])

        // Step 2: v = 0.9·v + g + 0.01·w.
        optimizer.step(parameters: &parameters, velocity: &velocity, gradient: [0.2, 0.3, -0.4], count: 3)
        let expectedVelocity: [Float] = [
            0.9 * 0.51 + 0.2 + 0.01 * 0.949, 0.9 * -1.02 + 0.3 + 0.01 * -1.898, 0.9 * 0.005 - 0.4 + 0.01 * 0.4995,
        ]
        expectClose(velocity, expectedVelocity)
        expectClose(parameters, [0.949, -1.898, 0.4995].enumerated().map { $1 - 0.1 * expectedVelocity[$0] })
    }

    private func expectClose(_ actual: [Float], _ expected: [Float], sourceLocation: SourceLocation = #_sourceLocation)
    {
        #expect(actual.count == expected.count, sourceLocation: sourceLocation)
        for (a, e) in zip(actual, expected) {
            #expect(abs(a - e) < 1e-6, "\(actual) != \(expected)", sourceLocation: sourceLocation)
        }
    }
}
