import ElideSupport
import Testing

@testable import ElideFederated

/// Labels 0..<classes repeated, `perClass` samples of each, interleaved as a shuffled data set would be.
private func balancedLabels(classes: Int, perClass: Int) -> [Int] {
    (0..<classes * perClass).map { $0 % classes }
}

/// Classes that hold at least `share` of a client's samples.
private func dominantClasses(_ members: [Int], labels: [Int], classes: Int, share: Double) -> Int {
    var counts = [Int](repeating: 0, count: classes)
    for index in members { counts[labels[index]] += 1 }
    return counts.filter { Double($0) >= share * Double(members.count) }.count
}

struct PartitionerTests {
    @Test func gammaMeanAndVarianceMatchShape() {
        for shape in [0.3, 1.0, 2.5, 7.0] {
            var generator = SeededGenerator(seed: 11)
            let draws = (0..<40_000).map { _ in GammaSampler.gamma(shape: shape, using: &generator) }
            let mean = draws.reduce(0, +) / Double(draws.count)
            let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws.count)
            // Gamma(k, 1) has mean k and variance k; 40,000 draws put the sample mean within about 1% of k.
            #expect(abs(mean - shape) < 0.05 * shape, "shape \(shape): mean \(mean)")
            #expect(abs(variance - shape) < 0.1 * shape, "shape \(shape): variance \(variance)")
            #expect(draws.allSatisfy { $0 > 0 })
        }
    }

    @Test func dirichletDrawIsOnSimplex() {
        var generator = SeededGenerator(seed: 3)
        for alpha in [0.05, 0.3, 10] {
            let point = GammaSampler.symmetricDirichlet(alpha: alpha, dimension: 20, using: &generator)
            #expect(point.count == 20)
            #expect(abs(point.reduce(0, +) - 1) < 1e-9)
            #expect(point.allSatisfy { $0 >= 0 })
        }
    }

    @Test func dirichletAssignsEverySampleOnce() throws {
        let labels = balancedLabels(classes: 10, perClass: 300)
        let parts = try Partitioner.partition(
            labels: labels, classCount: 10, clients: 20, scheme: .dirichlet(alpha: 0.3), seed: 5)
        #expect(parts.count == 20)
        let all = parts.flatMap { $0 }
        #expect(all.count == labels.count)
        #expect(Set(all).count == labels.count)
        #expect(parts.allSatisfy { $0 == $0.sorted() })
        #expect(parts.allSatisfy { $0.count >= 2 })
    }

    @Test func dirichletDependsOnlyOnSeed() throws {
        let labels = balancedLabels(classes: 10, perClass: 100)
        let first = try Partitioner.partition(
            labels: labels, classCount: 10, clients: 8, scheme: .dirichlet(alpha: 0.5), seed: 42)
        let again = try Partitioner.partition(
            labels: labels, classCount: 10, clients: 8, scheme: .dirichlet(alpha: 0.5), seed: 42)
        let other = try Partitioner.partition(
            labels: labels, classCount: 10, clients: 8, scheme: .dirichlet(alpha: 0.5), seed: 43)
        #expect(first == again)
        #expect(first != other)
    }

    @Test func smallAlphaConcentratesClasses() throws {
        let labels = balancedLabels(classes: 10, perClass: 400)
        func meanDominant(_ alpha: Double) throws -> Double {
            let parts = try Partitioner.partition(
                labels: labels, classCount: 10, clients: 20, scheme: .dirichlet(alpha: alpha), seed: 9)
            let counts = parts.map { dominantClasses($0, labels: labels, classes: 10, share: 0.05) }
            return Double(counts.reduce(0, +)) / Double(counts.count)
        }
        let skewed = try meanDominant(0.1)
        let moderate = try meanDominant(0.3)
        let uniform = try meanDominant(100)
        // Dirichlet(100) shares are nearly equal, so all 10 classes exceed 5% of a client's data. At alpha 0.1
        // one or two classes dominate a client's data.
        #expect(uniform > 9.5, "alpha 100: \(uniform) classes above 5%")
        #expect(moderate < uniform - 3, "alpha 0.3: \(moderate) classes above 5%")
        #expect(skewed < moderate, "alpha 0.1: \(skewed), alpha 0.3: \(moderate)")
    }

    @Test func dirichletRejectsImpossibleMinimum() {
        let labels = balancedLabels(classes: 2, perClass: 5)
        #expect(throws: FederatedError.self) {
            try Partitioner.partition(
                labels: labels, classCount: 2, clients: 5, scheme: .dirichlet(alpha: 0.01), seed: 1,
                minimumPerClient: 2)
        }
        #expect(throws: FederatedError.self) {
            try Partitioner.partition(labels: labels, classCount: 2, clients: 6, scheme: .dirichlet(alpha: 1), seed: 1)
        }
    }

    @Test func shardsGiveEachClientKShards() throws {
        let labels = balancedLabels(classes: 10, perClass: 100)
        let parts = try Partitioner.partition(
            labels: labels, classCount: 10, clients: 10, scheme: .shards(perClient: 2), seed: 4)
        let all = parts.flatMap { $0 }
        #expect(Set(all).count == labels.count)
        #expect(parts.allSatisfy { $0.count == 100 })
        // Shards of 50 samples from label-sorted data each hold one class, so 2 shards give at most 2 classes.
        for members in parts {
            #expect(Set(members.map { labels[$0] }).count <= 2)
        }
        let again = try Partitioner.partition(
            labels: labels, classCount: 10, clients: 10, scheme: .shards(perClient: 2), seed: 4)
        #expect(parts == again)
    }

    @Test func shardsRejectTooManyShards() {
        #expect(throws: FederatedError.self) {
            try Partitioner.partition(
                labels: balancedLabels(classes: 2, perClass: 5), classCount: 2, clients: 4,
                scheme: .shards(perClient: 3), seed: 1)
        }
    }

    @Test func labelOutsideClassesIsRejected() {
        #expect(throws: FederatedError.self) {
            try Partitioner.partition(
                labels: [0, 1, 2, 7], classCount: 3, clients: 1, scheme: .dirichlet(alpha: 1), seed: 1)
        }
    }

    @Test func subsampleIsSortedDistinctAndSeeded() {
        let sample = Partitioner.subsample(count: 1000, take: 100, seed: 8)
        #expect(sample.count == 100)
        #expect(Set(sample).count == 100)
        #expect(sample == sample.sorted())
        #expect(sample.allSatisfy { (0..<1000).contains($0) })
        #expect(sample == Partitioner.subsample(count: 1000, take: 100, seed: 8))
        #expect(sample != Partitioner.subsample(count: 1000, take: 100, seed: 9))
        #expect(Partitioner.subsample(count: 5, take: 10, seed: 1) == [0, 1, 2, 3, 4])
    }

    @Test func trainTestSplitIsDisjointAndSized() {
        let indices = Array(stride(from: 0, to: 500, by: 5))
        let (train, test) = Partitioner.split(indices, testFraction: 0.2, seed: 2)
        #expect(test.count == 20)
        #expect(train.count == 80)
        #expect(Set(train).isDisjoint(with: test))
        #expect(Set(train + test) == Set(indices))
        let tiny = Partitioner.split([4, 9], testFraction: 0.01, seed: 2)
        #expect(tiny.train.count == 1)
        #expect(tiny.test.count == 1)
    }
}
