import ElideSupport
import Testing

@testable import ElideSearch

@Suite struct LevelSwitchMutationTests {
    static let spaces: [DepthSearchSpace] = [
        try! DepthSearchSpace(layerCount: 12, unit: .subBlock, target: .fraction(0.25)),  // !-safe: valid
        try! DepthSearchSpace(layerCount: 10, unit: .subBlock, target: .fraction(0.25)),  // !-safe: valid, 3 + 2
        try! DepthSearchSpace(layerCount: 10, unit: .block, target: .count(3)),  // !-safe: valid
        try! DepthSearchSpace(layerCount: 16, unit: .pair, target: .count(2)),  // !-safe: valid
    ]

    @Test(arguments: spaces)
    func offspringKeepBudgetAndNeverRepeat(space: DepthSearchSpace) throws {
        for seed in UInt64(0)..<150 {
            var generator = SeededGenerator(seed: seed)
            let parentCount = 1 + Int(seed % 2)
            let parents = try space.distinctRandomGenomes(count: parentCount, using: &generator)
            let offspring = try LevelSwitchMutation.offspring(
                of: parents, count: 16, in: space, generation: 1, using: &generator)
            #expect(offspring.count == 16)
            #expect(Set(offspring).count == 16, "seed \(seed) repeated an offspring")
            #expect(Set(offspring).isDisjoint(with: parents), "seed \(seed) repeated a parent")
            for child in offspring {
                try space.validate(child)
                let distance = parents.map { swapDistance(child, $0, in: space) }.min() ?? 0
                #expect((1...3).contains(distance), "offspring \(child) is \(distance) switches from its parents")
            }
        }
    }

    @Test func switchCountFollowsMinimumOfTwoUniforms() {
        var generator = SeededGenerator(seed: 7)
        var counts = [0, 0, 0, 0]
        for _ in 0..<9000 {
            counts[LevelSwitchMutation.drawSwitchCount(using: &generator)] += 1
        }
        // Expected 5000, 3000 and 1000. The bounds are four standard deviations of a binomial count.
        #expect(counts[0] == 0)
        #expect(abs(counts[1] - 5000) < 190, "P(1) count \(counts[1])")
        #expect(abs(counts[2] - 3000) < 180, "P(2) count \(counts[2])")
        #expect(abs(counts[3] - 1000) < 120, "P(3) count \(counts[3])")
    }

    @Test func subBlockSwitchPicksEachKindHalfTheTime() throws {
        let space = try DepthSearchSpace(layerCount: 10, unit: .subBlock, target: .count(6))
        let groups = space.geneGroups
        var generator = SeededGenerator(seed: 11)
        var attentionMoves = 0
        for _ in 0..<4000 {
            var masks = groups.map { group in (0..<group.geneCount).map { $0 < group.droppedCount } }
            let before = masks
            LevelSwitchMutation.applySwitch(to: &masks, groups: groups, using: &generator)
            #expect(masks.map { $0.filter { $0 }.count } == [3, 3])
            if masks[0] != before[0] {
                attentionMoves += 1
            }
        }
        // Expected 2000 with a standard deviation of about 32.
        #expect(abs(attentionMoves - 2000) < 130, "attention moved \(attentionMoves) of 4000 times")
    }

    @Test func switchSkipsKindWithNothingToMove() throws {
        let space = try DepthSearchSpace(layerCount: 6, unit: .subBlock, target: .count(1))
        #expect(space.droppedAttentionCount == 1)
        #expect(space.droppedMLPCount == 0)
        var generator = SeededGenerator(seed: 3)
        let parent = space.randomGenome(using: &generator)
        let offspring = try LevelSwitchMutation.offspring(
            of: [parent], count: 5, in: space, generation: 1, using: &generator)
        #expect(Set(offspring).count == 5)
        #expect(offspring.allSatisfy { $0.droppedMLP.isEmpty })
        #expect(offspring.allSatisfy { $0.droppedAttention.count == 1 })
    }

    @Test func exhaustedNeighbourhoodFailsClearly() throws {
        // 4 blocks with 1 dropped: only 3 other genomes exist.
        let space = try DepthSearchSpace(layerCount: 4, unit: .block, target: .count(1))
        var generator = SeededGenerator(seed: 5)
        let parent = space.randomGenome(using: &generator)
        do {
            _ = try LevelSwitchMutation.offspring(of: [parent], count: 4, in: space, generation: 2, using: &generator)
            Issue.record("four distinct offspring were found in a space with three other genomes")
        } catch let error as SearchProgressError {
            guard case .offspringExhausted(let generation, let found, let requested, _, let size) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(generation == 2)
            #expect(found == 3)
            #expect(requested == 4)
            #expect(size == 4)
            #expect(error.description.contains("brute force"))
        }
    }
}

/// Level switches between two genomes of `space`: genes dropped in `a` but kept in `b`, summed over gene groups.
func swapDistance(_ a: DepthGenome, _ b: DepthGenome, in space: DepthSearchSpace) -> Int {
    zip(space.droppedGenes(of: a), space.droppedGenes(of: b)).reduce(0) { total, genes in
        total + Set(genes.0).subtracting(genes.1).count
    }
}
