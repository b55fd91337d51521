import Testing

@testable import ElideSearch

@Suite struct BaselineTests {
    @Test func shortGPTDropsLowestBlocks() throws {
        let space = try DepthSearchSpace(layerCount: 6, unit: .block, target: .count(2))
        let genome = try ShortGPTBaseline.genome(for: space, scores: .blocks([0.5, 0.1, 0.3, 0.05, 0.9, 0.2]))
        #expect(genome.droppedAttention == [1, 3])
        #expect(genome.droppedMLP == [1, 3])
        #expect(space.contains(genome))
    }

    @Test func shortGPTRanksSubBlockKindsSeparately() throws {
        let space = try DepthSearchSpace(layerCount: 5, unit: .subBlock, target: .count(3))
        #expect(space.droppedAttentionCount == 2)
        #expect(space.droppedMLPCount == 1)
        // MLP scores are all below attention scores, yet attention still drops its own two lowest.
        let genome = try ShortGPTBaseline.genome(
            for: space,
            scores: .subBlocks(attention: [0.40, 0.31, 0.90, 0.30, 0.50], mlp: [0.02, 0.01, 0.05, 0.03, 0.04]))
        #expect(genome.droppedAttention == [1, 3])
        #expect(genome.droppedMLP == [1])
    }

    @Test func shortGPTDropsLowestPairsAndBreaksTiesByIndex() throws {
        let space = try DepthSearchSpace(layerCount: 8, unit: .pair, target: .count(1))
        let genome = try ShortGPTBaseline.genome(for: space, scores: .pairs([0.3, 0.2, 0.2, 0.4]))
        #expect(genome.droppedAttention == [2, 3])
        #expect(genome.droppedMLP == [2, 3])
    }

    @Test func shortGPTRejectsMismatchedScores() throws {
        let space = try DepthSearchSpace(layerCount: 6, unit: .block, target: .count(2))
        #expect(throws: BaselineInputError.scoresDoNotMatchUnit(unit: .block)) {
            try ShortGPTBaseline.genome(for: space, scores: .pairs([0.1, 0.2, 0.3]))
        }
        #expect(throws: BaselineInputError.scoreCountMismatch(name: "block scores", expected: 6, actual: 5)) {
            try ShortGPTBaseline.genome(for: space, scores: .blocks([0.1, 0.2, 0.3, 0.4, 0.5]))
        }
        #expect(throws: BaselineInputError.self) {
            try ShortGPTBaseline.genome(for: space, scores: .blocks([0.1, .nan, 0.3, 0.4, 0.5, 0.6]))
        }
    }

    @Test func windowDropsMostSimilarBlockRun() throws {
        let space = try DepthSearchSpace(layerCount: 8, unit: .block, target: .count(3))
        let windows = try SlidingWindowBaseline.windows(for: space)
        #expect(windows.map(\.start) == Array(0...5))
        #expect(windows[4].fromState == 8)
        #expect(windows[4].toState == 14)
        let genome = try SlidingWindowBaseline.genome(for: space, distances: [0.4, 0.3, 0.35, 0.5, 0.1, 0.2])
        #expect(genome.droppedAttention == [4, 5, 6])
        #expect(genome.droppedMLP == [4, 5, 6])
    }

    @Test func windowOverPairsStartsAtEvenLayers() throws {
        let space = try DepthSearchSpace(layerCount: 8, unit: .pair, target: .count(2))
        let windows = try SlidingWindowBaseline.windows(for: space)
        #expect(windows.map(\.fromState) == [0, 4, 8])
        #expect(windows.map(\.toState) == [8, 12, 16])
        let genome = try SlidingWindowBaseline.genome(for: space, distances: [0.3, 0.2, 0.25])
        #expect(genome.droppedBlocks == [2, 3, 4, 5])
    }

    @Test func windowOverOddSubBlockTotalStartsAtAttention() throws {
        let space = try DepthSearchSpace(layerCount: 6, unit: .subBlock, target: .count(3))
        let windows = try SlidingWindowBaseline.windows(for: space)
        #expect(windows.map(\.start) == [0, 2, 4, 6, 8])
        #expect(windows.allSatisfy { $0.toState - $0.fromState == 3 })
        let genome = try SlidingWindowBaseline.genome(for: space, distances: [0.5, 0.4, 0.1, 0.3, 0.6])
        // Positions 4, 5, 6: attention 2, MLP 2, attention 3.
        #expect(genome.droppedAttention == [2, 3])
        #expect(genome.droppedMLP == [2])
        #expect(space.contains(genome))
    }

    @Test func windowOverEvenSubBlockTotalStartsAnywhere() throws {
        let space = try DepthSearchSpace(layerCount: 6, unit: .subBlock, target: .count(4))
        let windows = try SlidingWindowBaseline.windows(for: space)
        #expect(windows.map(\.start) == Array(0...8))
        var distances = [Double](repeating: 0.9, count: 9)
        distances[3] = 0.05
        let genome = try SlidingWindowBaseline.genome(for: space, distances: distances)
        // Positions 3, 4, 5, 6: MLP 1, attention 2, MLP 2, attention 3.
        #expect(genome.droppedAttention == [2, 3])
        #expect(genome.droppedMLP == [1, 2])
    }

    @Test func windowRejectsUnmatchableCounts() throws {
        let space = try DepthSearchSpace(layerCount: 6, unit: .subBlock, target: .subBlockCounts(attention: 3, mlp: 1))
        #expect(throws: BaselineInputError.noContiguousWindow(attention: 3, mlp: 1)) {
            try SlidingWindowBaseline.windows(for: space)
        }
        let blocks = try DepthSearchSpace(layerCount: 8, unit: .block, target: .count(3))
        #expect(throws: BaselineInputError.scoreCountMismatch(name: "window distances", expected: 6, actual: 8)) {
            try SlidingWindowBaseline.genome(for: blocks, distances: [Double](repeating: 0, count: 8))
        }
    }

    @Test func randomSampleKeepsLowestOfDistinctCandidates() throws {
        let space = try DepthSearchSpace(layerCount: 16, unit: .subBlock, target: .fraction(0.25))
        var search = try RandomSampleSearch(space: space, tokens: 4096, calibration: largePool, seed: 12)
        let batch = try #require(search.nextBatch())
        #expect(batch.kind == .randomSample)
        #expect(batch.candidates.count == 32)
        #expect(Set(batch.candidates.map(\.genome)).count == 32)
        #expect(batch.candidates.allSatisfy { space.contains($0.genome) })
        #expect(batch.minibatch.tokenCount == 4096)
        try runToEnd(&search) { genome, _ in FakeFitness.additive(genome) }
        #expect(search.isFinished)
        let lowest = batch.candidates.map { FakeFitness.additive($0.genome) }.min()
        #expect(search.best?.fitness == lowest)
        #expect(search.ranking.count == 32)
        #expect(zip(search.ranking, search.ranking.dropFirst()).allSatisfy { $0.fitness <= $1.fitness })

        let again = try RandomSampleSearch(space: space, tokens: 4096, calibration: largePool, seed: 12)
        #expect(again.nextBatch() == batch)
        #expect(throws: SearchConfigurationError.invalidCandidateCount(0)) {
            try RandomSampleSearch(space: space, candidateCount: 0, tokens: 512, calibration: largePool, seed: 1)
        }
    }

    @Test func bruteForceFindsLowestGenome() throws {
        let space = try DepthSearchSpace(layerCount: 9, unit: .subBlock, target: .subBlockCounts(attention: 2, mlp: 1))
        var search = try BruteForceSearch(space: space, tokens: 1024, calibration: largePool, seed: 3)
        let batch = try #require(search.nextBatch())
        #expect(batch.candidates.count == 36 * 9)
        try runToEnd(&search) { genome, _ in FakeFitness.additive(genome) }
        let expected = try space.allGenomes().min { FakeFitness.additive($0) < FakeFitness.additive($1) }
        #expect(search.best?.genome == expected)
        #expect(search.ranking.count == 324)

        let large = try DepthSearchSpace(layerCount: 30, unit: .block, target: .count(8))
        #expect(throws: SearchConfigurationError.self) {
            try BruteForceSearch(space: large, tokens: 1024, calibration: largePool, seed: 3)
        }
    }
}
