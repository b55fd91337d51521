import ElideEngine
import ElideSupport
import Testing

@Suite struct ProbeTests {
    /// Gaussian-ish clusters: class c has mean 2 at dimension c, noise in [−1, 1].
    static func clusters(count: Int, dimension: Int, classes: Int, seed: UInt64) -> ([[Float]], [Int]) {
        var generator = SeededGenerator(seed: seed)
        let labels = (0..<count).map { $0 % classes }
        let features = labels.map { label in
            (0..<dimension).map { index in (generator.nextUnitFloat() * 2 - 1) + (index == label ? 2 : 0) }
        }
        return (features, labels)
    }

    @Test func linearProbeSeparatesClusters() {
        let (train, trainLabels) = Self.clusters(count: 200, dimension: 12, classes: 5, seed: 1)
        let (test, testLabels) = Self.clusters(count: 100, dimension: 12, classes: 5, seed: 2)
        let probe = LinearProbe.train(features: train, labels: trainLabels, classCount: 5)
        #expect(probe.accuracy(features: test, labels: testLabels) > 0.9)
        // Shuffled labels cannot be predicted from the features.
        let shuffled = testLabels.map { ($0 + 1) % 5 }
        #expect(probe.accuracy(features: test, labels: shuffled) < 0.2)
    }

    @Test func nearestNeighbourVotesByCosine() {
        let (train, trainLabels) = Self.clusters(count: 200, dimension: 12, classes: 5, seed: 3)
        let (test, testLabels) = Self.clusters(count: 100, dimension: 12, classes: 5, seed: 4)
        let knn = NearestNeighbourProbe(features: train, labels: trainLabels, classCount: 5, k: 20)
        #expect(knn.accuracy(features: test, labels: testLabels) > 0.85)
    }

    @Test func nearestNeighbourWithOneNeighbourCopiesLabel() {
        let train: [[Float]] = [[1, 0], [0, 1], [-1, 0]]
        let knn = NearestNeighbourProbe(features: train, labels: [0, 1, 2], classCount: 3, k: 1)
        #expect(knn.predict([[2, 0.1], [0.1, 3], [-5, 0]]) == [0, 1, 2])
    }
}
