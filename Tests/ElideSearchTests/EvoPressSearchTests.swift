import ElideSupport
import Foundation
import Testing

@testable import ElideSearch

@Suite struct EvoPressSearchTests {
    static func configuration(
        _ space: DepthSearchSpace, schedule: SearchSchedule = .paper, generations: Int? = nil
    ) throws -> EvoPressConfiguration {
        try EvoPressConfiguration(
            space: space, schedule: schedule, generationCount: generations, calibration: largePool)
    }

    // !-safe: 16 layers with a quarter of their sub-blocks dropped is a valid space.
    static let subBlockSpace = try! DepthSearchSpace(layerCount: 16, unit: .subBlock, target: .fraction(0.25))

    @Test func initialisationKeepsLowestCandidate() throws {
        var search = try EvoPressSearch(configuration: Self.configuration(Self.subBlockSpace), seed: 1)
        let batch = try #require(search.nextBatch())
        #expect(batch.kind == .initialization)
        #expect(batch.index == 0)
        #expect(batch.candidates.count == 64)
        #expect(Set(batch.candidates.map(\.genome)).count == 64)
        #expect(batch.minibatch.tokenCount == 2048)
        #expect(search.best == nil)

        let fitness = Dictionary(
            uniqueKeysWithValues: batch.candidates.map { ($0.id, FakeFitness.additive($0.genome)) })
        try search.submit(batch: batch.index, fitness: fitness)
        let lowest = batch.candidates.min { FakeFitness.additive($0.genome) < FakeFitness.additive($1.genome) }
        #expect(search.best?.candidateID == lowest?.id)
        #expect(search.history.count == 1)
        #expect(search.history[0].generation == 0)
        #expect(search.history[0].evaluationCount == 64)
        #expect(search.history[0].tokenCount == 64 * 2048)
    }

    @Test func seedGenomesJoinInitialisationAheadOfTheSameRandomDraw() throws {
        let configuration = try Self.configuration(Self.subBlockSpace)
        let unseeded = try #require(try EvoPressSearch(configuration: configuration, seed: 7).nextBatch())
        // One seed outside the random draw, one equal to its third genome, and a repeat of the first.
        var generator = SeededGenerator(seed: 99)
        var outside = Self.subBlockSpace.randomGenome(using: &generator)
        while unseeded.candidates.contains(where: { $0.genome == outside }) {
            outside = Self.subBlockSpace.randomGenome(using: &generator)
        }
        let repeated = unseeded.candidates[2].genome
        var search = try EvoPressSearch(
            configuration: configuration, seed: 7, seedGenomes: [outside, repeated, outside])
        let batch = try #require(search.nextBatch())

        #expect(
            batch.candidates.map(\.genome) == [outside, repeated]
                + unseeded.candidates.map(\.genome).filter { $0 != repeated })
        #expect(batch.minibatch == unseeded.minibatch)
        // The seed wins when it scores lowest, and ties keep it ahead of the random genomes.
        try search.submit(
            batch: batch.index,
            fitness: Dictionary(
                uniqueKeysWithValues: batch.candidates.map { ($0.id, $0.genome == outside ? 0.5 : 1.0) }))
        #expect(search.best?.genome == outside)
    }

    @Test func seedGenomeOutsideTheSpaceIsRejected() throws {
        let other = try DepthSearchSpace(layerCount: 16, unit: .subBlock, target: .count(2))
        var generator = SeededGenerator(seed: 1)
        let foreign = other.randomGenome(using: &generator)
        #expect(throws: SearchConfigurationError.self) {
            try EvoPressSearch(configuration: Self.configuration(Self.subBlockSpace), seed: 1, seedGenomes: [foreign])
        }
    }

    @Test func stagesKeepLowestAndRescoreParent() throws {
        var search = try EvoPressSearch(configuration: Self.configuration(Self.subBlockSpace), seed: 2)
        let initial = try #require(search.nextBatch())
        try search.submit(
            batch: initial.index,
            fitness: Dictionary(uniqueKeysWithValues: initial.candidates.map { ($0.id, Double($0.id)) }))
        let parent = try #require(search.best)
        #expect(parent.candidateID == initial.candidates[0].id)
        #expect(parent.fitness == 0)

        // Stage 1: 32 offspring, no parent. Fitness decreasing with position, so the last two survive.
        let first = try #require(search.nextBatch())
        #expect(first.kind == .selection)
        #expect(first.generation == 1)
        #expect(first.stage == 0)
        #expect(first.candidates.count == 32)
        #expect(!first.candidates.contains { $0.genome == parent.genome })
        var fitness: [CandidateID: Double] = [:]
        for (position, candidate) in first.candidates.enumerated() {
            fitness[candidate.id] = Double(100 - position)
        }
        try search.submit(batch: first.index, fitness: fitness)

        // Stage 2: the two survivors, lowest first, then the parent, on a different and larger minibatch.
        let second = try #require(search.nextBatch())
        #expect(second.stage == 1)
        #expect(second.minibatch.tokenCount == 32_768)
        #expect(second.candidates.map(\.id) == [first.candidates[31].id, first.candidates[30].id, parent.candidateID])
        #expect(second.candidates[2].genome == parent.genome)

        // The parent scores best on the new minibatch, so it stays, with its new fitness rather than the old 0.
        try search.submit(
            batch: second.index,
            fitness: [second.candidates[0].id: 7.5, second.candidates[1].id: 9.0, parent.candidateID: 3.25])
        #expect(search.best?.candidateID == parent.candidateID)
        #expect(search.best?.fitness == 3.25)
        let record = try #require(search.history.last)
        #expect(record.generation == 1)
        #expect(record.bestFitness == 3.25)
        #expect(record.evaluationCount == 35)
        #expect(record.tokenCount == 32 * 2048 + 3 * 32_768)
        #expect(record.medianFitness == 84.5)
        #expect(
            record.stages.map(\.survivorIDs) == [
                [first.candidates[31].id, first.candidates[30].id], [parent.candidateID],
            ])

        // Next generation: an offspring beats the parent and replaces it.
        let third = try #require(search.nextBatch())
        #expect(third.generation == 2)
        #expect(third.stage == 0)
        try search.submit(
            batch: third.index, fitness: Dictionary(uniqueKeysWithValues: third.candidates.map { ($0.id, 1.0) }))
        let fourth = try #require(search.nextBatch())
        #expect(fourth.candidates.last?.id == parent.candidateID)
        try search.submit(
            batch: fourth.index,
            fitness: [fourth.candidates[0].id: 2.0, fourth.candidates[1].id: 1.0, parent.candidateID: 1.5])
        #expect(search.best?.candidateID == fourth.candidates[1].id)
        #expect(search.best?.fitness == 1.0)
    }

    @Test func tieGoesToOffspringOverParent() throws {
        let schedule = try SearchSchedule(parsing: "offspring=4,stage=1x256,initial=4x256")
        var search = try EvoPressSearch(
            configuration: Self.configuration(Self.subBlockSpace, schedule: schedule), seed: 3)
        let initial = try #require(search.nextBatch())
        try search.submit(
            batch: 0, fitness: Dictionary(uniqueKeysWithValues: initial.candidates.map { ($0.id, Double($0.id)) }))
        let parent = try #require(search.best)
        let only = try #require(search.nextBatch())
        // A single stage is also the last one, so it scores the 4 offspring and then the parent.
        #expect(only.candidates.count == 5)
        #expect(only.candidates.last?.id == parent.candidateID)
        try search.submit(
            batch: only.index, fitness: Dictionary(uniqueKeysWithValues: only.candidates.map { ($0.id, 2.0) }))
        #expect(search.best?.candidateID == only.candidates[0].id)
    }

    @Test func searchRunsForGenerationBudget() throws {
        let space = try DepthSearchSpace(layerCount: 10, unit: .block, target: .count(3))
        var search = try EvoPressSearch(configuration: Self.configuration(space, schedule: .fast), seed: 4)
        let batches = try runToEnd(&search) { genome, _ in FakeFitness.additive(genome) }
        #expect(search.isFinished)
        #expect(search.finishedGenerationCount == 14)
        #expect(search.history.map(\.generation) == Array(0...14))
        #expect(batches.count == 1 + 14 * 2)
        #expect(batches.map(\.index) == Array(0..<batches.count))
        #expect(search.history.dropFirst().allSatisfy { $0.evaluationCount == 18 })
        #expect(throws: SearchProgressError.searchFinished(submittedBatch: 29)) {
            try search.submit(batch: 29, fitness: [:])
        }
    }

    @Test func sameSeedGivesSameHistory() throws {
        let configuration = try Self.configuration(Self.subBlockSpace, schedule: .fast, generations: 20)
        let fitness = { (genome: DepthGenome, minibatch: Minibatch) in
            FakeFitness.additive(genome) + FakeFitness.noise(genome, minibatch)
        }
        var first = try EvoPressSearch(configuration: configuration, seed: 42)
        var second = try EvoPressSearch(configuration: configuration, seed: 42)
        var other = try EvoPressSearch(configuration: configuration, seed: 43)
        let firstBatches = try runToEnd(&first, fitness: fitness)
        let secondBatches = try runToEnd(&second, fitness: fitness)
        let otherBatches = try runToEnd(&other, fitness: fitness)
        #expect(firstBatches == secondBatches)
        #expect(first.history == second.history)
        #expect(first.best == second.best)
        #expect(firstBatches[0] != otherBatches[0])
        #expect(try sortedJSON(first) == sortedJSON(second))
    }

    @Test func submissionOrderDoesNotMatter() throws {
        let configuration = try Self.configuration(Self.subBlockSpace, schedule: .fast, generations: 20)
        let fitness = { (genome: DepthGenome, minibatch: Minibatch) in
            FakeFitness.additive(genome) + FakeFitness.noise(genome, minibatch)
        }
        var reference = try EvoPressSearch(configuration: configuration, seed: 5)
        try runToEnd(&reference, fitness: fitness)
        var shuffled = try EvoPressSearch(configuration: configuration, seed: 5)
        var generator = SeededGenerator(seed: 99)
        try runToEnd(&shuffled, fitness: fitness) { candidates in
            candidates.shuffle(using: &generator)
        }
        var reversed = try EvoPressSearch(configuration: configuration, seed: 5)
        try runToEnd(&reversed, fitness: fitness) { $0.reverse() }
        #expect(shuffled.history == reference.history)
        #expect(reversed.history == reference.history)
        #expect(shuffled.best == reference.best)
    }

    @Test func encodedSearchResumesIdentically() throws {
        let configuration = try Self.configuration(Self.subBlockSpace, schedule: .paper, generations: 6)
        let fitness = { (genome: DepthGenome, minibatch: Minibatch) in
            FakeFitness.additive(genome) + FakeFitness.noise(genome, minibatch)
        }
        var reference = try EvoPressSearch(configuration: configuration, seed: 8)
        try runToEnd(&reference, fitness: fitness)

        // Stop after five batches, journal the value as JSON, restore it and finish.
        var interrupted = try EvoPressSearch(configuration: configuration, seed: 8)
        var journal: [(Int, [CandidateID: Double])] = []
        for _ in 0..<5 {
            let batch = try #require(interrupted.nextBatch())
            let values = Dictionary(
                uniqueKeysWithValues: batch.candidates.map { ($0.id, fitness($0.genome, batch.minibatch)) })
            journal.append((batch.index, values))
            try interrupted.submit(batch: batch.index, fitness: values)
        }
        var restored = try JSONDecoder().decode(EvoPressSearch.self, from: JSONEncoder().encode(interrupted))
        #expect(restored.nextBatch() == interrupted.nextBatch())
        try runToEnd(&restored, fitness: fitness)
        #expect(restored.history == reference.history)

        // Replaying the journalled fitness values from the seed reaches the same state as well.
        var replayed = try EvoPressSearch(configuration: configuration, seed: 8)
        for (index, values) in journal {
            try replayed.submit(batch: index, fitness: values)
        }
        #expect(try sortedJSON(replayed) == sortedJSON(interrupted))
    }

    @Test func invalidSubmissionsLeaveSearchUnchanged() throws {
        var search = try EvoPressSearch(configuration: Self.configuration(Self.subBlockSpace), seed: 6)
        let batch = try #require(search.nextBatch())
        var fitness = Dictionary(uniqueKeysWithValues: batch.candidates.map { ($0.id, 1.0) })

        #expect(throws: SearchProgressError.unexpectedBatch(submitted: 1, pending: 0)) {
            try search.submit(batch: 1, fitness: fitness)
        }
        var missing = fitness
        missing[batch.candidates[3].id] = nil
        #expect(throws: SearchProgressError.missingFitness(batch: 0, candidateIDs: [batch.candidates[3].id])) {
            try search.submit(batch: 0, fitness: missing)
        }
        var extra = fitness
        extra[9999] = 1
        #expect(throws: SearchProgressError.unknownCandidates(batch: 0, candidateIDs: [9999])) {
            try search.submit(batch: 0, fitness: extra)
        }
        fitness[batch.candidates[5].id] = .nan
        do {
            try search.submit(batch: 0, fitness: fitness)
            Issue.record("a NaN fitness was accepted")
        } catch let error as SearchProgressError {
            #expect(error.description.contains("candidate \(batch.candidates[5].id)"))
            #expect(error.description.contains("nan"))
        }
        #expect(search.nextBatch() == batch)
        #expect(search.history.isEmpty)
    }

    @Test func tooSmallSpaceIsRejectedUpFront() throws {
        let space = try DepthSearchSpace(layerCount: 4, unit: .block, target: .count(1))
        do {
            _ = try Self.configuration(space, schedule: .fast)
            Issue.record("a 4-genome space was accepted for 16 initial candidates")
        } catch let error as SearchConfigurationError {
            #expect(error.description.contains("4 configurations"))
            #expect(error.description.contains("brute force"))
        }
        // 6 genomes are enough for 4 initial candidates, but each has only 5 neighbours, too few for λ = 6.
        let small = try DepthSearchSpace(layerCount: 6, unit: .block, target: .count(1))
        let schedule = try SearchSchedule(parsing: "offspring=6,stage=1x512,initial=4x512")
        do {
            _ = try Self.configuration(small, schedule: schedule)
            Issue.record("λ = 6 was accepted with 5 neighbours per genome")
        } catch let error as SearchConfigurationError {
            #expect(error.description.contains("5 such neighbours"))
        }
        let enough = try SearchSchedule(parsing: "offspring=5,stage=1x512,initial=4x512")
        #expect(try Self.configuration(small, schedule: enough).generationCount == 3)
    }

    @Test(arguments: UInt64(1)...10)
    func reachesBruteForceOptimum(seed: UInt64) throws {
        let space = try DepthSearchSpace(layerCount: 10, unit: .block, target: .count(3))
        let landscape = InteractingBlockFitness(noiseAmplitude: 0.02)

        var bruteForce = try BruteForceSearch(space: space, tokens: 8192, calibration: largePool, seed: seed)
        try runToEnd(&bruteForce, fitness: landscape.fitness)
        let optimum = try #require(bruteForce.best).genome
        let ranked = bruteForce.ranking.map { landscape.cost($0.genome) }
        #expect(ranked[1] - ranked[0] > 4 * landscape.noiseAmplitude, "noise could reorder the two best genomes")

        // The landscape is not additive: the three individually cheapest blocks are not the optimum.
        let cheapest = InteractingBlockFitness.weights.indices.sorted {
            InteractingBlockFitness.weights[$0] < InteractingBlockFitness.weights[$1]
        }
        #expect(Array(cheapest.prefix(3)).sorted() != optimum.droppedBlocks)

        var search = try EvoPressSearch(configuration: Self.configuration(space, schedule: .fast), seed: seed)
        try runToEnd(&search, fitness: landscape.fitness)
        #expect(search.best?.genome == optimum)
        let reached = search.history.first { $0.bestGenome == optimum }?.generation
        #expect(reached != nil)
        print("EvoPress seed \(seed): optimum \(optimum.droppedBlocks) reached at generation \(reached ?? -1) of 14")
    }
}

/// JSON with sorted keys, so equal values encode to equal bytes.
func sortedJSON(_ value: some Encodable) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return try encoder.encode(value)
}
