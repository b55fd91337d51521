import Foundation
import Testing

@testable import ElideSearch

@Suite struct DepthSearchSpaceTests {
    @Test func fractionSplitsOddTotalTowardAttention() throws {
        let space = try DepthSearchSpace(layerCount: 30, unit: .subBlock, target: .fraction(0.25))
        #expect(space.droppedSubBlockCount == 15)
        #expect(space.droppedAttentionCount == 8)
        #expect(space.droppedMLPCount == 7)
    }

    @Test func fractionMapsToUnitsOfEachKind() throws {
        let block = try DepthSearchSpace(layerCount: 30, unit: .block, target: .fraction(0.25))
        #expect(block.droppedUnitCount == 8)  // 7.5 rounds away from zero
        #expect(block.droppedAttentionCount == 8)
        #expect(block.droppedMLPCount == 8)
        let pair = try DepthSearchSpace(layerCount: 32, unit: .pair, target: .fraction(0.375))
        #expect(pair.droppedUnitCount == 6)
        #expect(pair.droppedAttentionCount == 12)
        #expect(pair.droppedMLPCount == 12)
    }

    @Test func countTargetsCountUnits() throws {
        let subBlock = try DepthSearchSpace(layerCount: 10, unit: .subBlock, target: .count(4))
        #expect(subBlock.droppedAttentionCount == 2)
        #expect(subBlock.droppedMLPCount == 2)
        let block = try DepthSearchSpace(layerCount: 10, unit: .block, target: .count(3))
        #expect(block.droppedSubBlockCount == 6)
        let explicit = try DepthSearchSpace(
            layerCount: 10, unit: .subBlock, target: .subBlockCounts(attention: 1, mlp: 4))
        #expect(explicit.droppedAttentionCount == 1)
        #expect(explicit.droppedMLPCount == 4)
    }

    @Test(arguments: [-0.1, 0.0, 1.0, 1.5, Double.nan])
    func fractionOutsideOpenIntervalIsRejected(fraction: Double) {
        #expect(throws: SearchConfigurationError.self) {
            try DepthSearchSpace(layerCount: 30, unit: .subBlock, target: .fraction(fraction))
        }
    }

    @Test func errorsNameValueAndFix() {
        let fraction = SearchConfigurationError.dropFractionOutOfRange(1.2).description
        #expect(fraction.contains("1.2"))
        #expect(fraction.contains("0.25"))
        do {
            _ = try DepthSearchSpace(layerCount: 10, unit: .block, target: .count(11))
            Issue.record("a count above the layer count was accepted")
        } catch let error as SearchConfigurationError {
            #expect(error == .dropCountOutOfRange(count: 11, unit: .block, unitCount: 10))
            #expect(error.description.contains("1...9"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
        do {
            _ = try DepthSearchSpace(layerCount: 30, unit: .block, target: .fraction(0.01))
            Issue.record("a fraction rounding to zero was accepted")
        } catch let error as SearchConfigurationError {
            #expect(error.description.contains("rounds to 0"))
            #expect(error.description.contains("1/30"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func invalidShapesAreRejected() {
        #expect(throws: SearchConfigurationError.oddLayerCountForPairs(31)) {
            try DepthSearchSpace(layerCount: 31, unit: .pair, target: .count(2))
        }
        #expect(throws: SearchConfigurationError.invalidLayerCount(1)) {
            try DepthSearchSpace(layerCount: 1, unit: .block, target: .count(1))
        }
        #expect(throws: SearchConfigurationError.self) {
            try DepthSearchSpace(layerCount: 10, unit: .block, target: .subBlockCounts(attention: 2, mlp: 3))
        }
        #expect(throws: SearchConfigurationError.self) {
            try DepthSearchSpace(layerCount: 10, unit: .subBlock, target: .subBlockCounts(attention: 10, mlp: 10))
        }
        #expect(throws: SearchConfigurationError.self) {
            try DepthSearchSpace(layerCount: 10, unit: .subBlock, target: .subBlockCounts(attention: 11, mlp: 0))
        }
        #expect(throws: SearchConfigurationError.self) {
            try DepthSearchSpace(layerCount: 10, unit: .block, droppedAttentionCount: 2, droppedMLPCount: 3)
        }
        #expect(throws: SearchConfigurationError.self) {
            try DepthSearchSpace(layerCount: 10, unit: .pair, droppedAttentionCount: 3, droppedMLPCount: 3)
        }
    }

    @Test func dropTargetParsesCountsAndFractions() throws {
        #expect(try DropTarget(parsing: "0.25") == .fraction(0.25))
        #expect(try DropTarget(parsing: " 15 ") == .count(15))
        for text in ["0", "-1", "1.0", "1.5", "-0.25", "0.0"] {
            #expect(throws: SearchConfigurationError.self, "drop target '\(text)' was accepted") {
                try DropTarget(parsing: text)
            }
        }
        #expect(throws: SearchConfigurationError.invalidDropTarget("quarter")) {
            try DropTarget(parsing: "quarter")
        }
    }

    @Test func generationBudgetFollowsFormula() throws {
        // EvoPress's depth runs on 32 layers: k = 4, 8, 12, 16 give 74, 128, 160, 170 generations.
        for (dropped, expected) in [(4, 74), (8, 128), (12, 160), (16, 170)] {
            let block = try DepthSearchSpace(layerCount: 32, unit: .block, target: .count(dropped))
            #expect(block.defaultGenerationCount == expected)
            let subBlock = try DepthSearchSpace(layerCount: 32, unit: .subBlock, target: .count(2 * dropped))
            #expect(subBlock.defaultGenerationCount == expected)
        }
        let small = try DepthSearchSpace(layerCount: 10, unit: .block, target: .count(3))
        #expect(small.defaultGenerationCount == 14)
        // SmolLM2-135M at 25 %: 8 attention and 7 MLP drops of 30 layers, max(8·22, 7·23) / 1.5 = 117.
        let smol = try DepthSearchSpace(layerCount: 30, unit: .subBlock, target: .fraction(0.25))
        #expect(smol.defaultGenerationCount == 117)
        let pairs = try DepthSearchSpace(layerCount: 32, unit: .pair, target: .count(6))
        #expect(pairs.defaultGenerationCount == 40)
        let tiny = try DepthSearchSpace(layerCount: 2, unit: .block, target: .count(1))
        #expect(tiny.defaultGenerationCount == 1)
    }

    @Test func bruteForceEnumeratesEveryGenomeOnce() throws {
        let cases: [(DepthSearchSpace, Int)] = [
            (try DepthSearchSpace(layerCount: 10, unit: .block, target: .count(3)), 120),
            (try DepthSearchSpace(layerCount: 6, unit: .subBlock, target: .subBlockCounts(attention: 2, mlp: 1)), 90),
            (try DepthSearchSpace(layerCount: 12, unit: .pair, target: .count(2)), 15),
            (try DepthSearchSpace(layerCount: 32, unit: .pair, target: .count(6)), 8008),
        ]
        for (space, expected) in cases {
            let genomes = try space.allGenomes()
            #expect(space.configurationCount == expected)
            #expect(genomes.count == expected)
            #expect(Set(genomes).count == expected)
            #expect(genomes.allSatisfy(space.contains))
        }
    }

    @Test func enumerationAboveLimitIsRejected() throws {
        let space = try DepthSearchSpace(layerCount: 30, unit: .subBlock, target: .fraction(0.25))
        #expect(space.configurationCount == 5_852_925 * 2_035_800)
        #expect(
            throws: SearchConfigurationError.enumerationLimitExceeded(
                configurationCount: space.configurationCount, limit: 10_000)
        ) {
            try space.allGenomes()
        }
        let small = try DepthSearchSpace(layerCount: 10, unit: .block, target: .count(3))
        #expect(throws: SearchConfigurationError.self) { try small.allGenomes(limit: 119) }
    }

    @Test func containsChecksUnitTies() throws {
        let block = try DepthSearchSpace(layerCount: 6, unit: .block, target: .count(2))
        #expect(block.contains(try DepthGenome(layerCount: 6, droppedAttention: [1, 4], droppedMLP: [4, 1])))
        #expect(!block.contains(try DepthGenome(layerCount: 6, droppedAttention: [1, 4], droppedMLP: [1, 5])))
        #expect(!block.contains(try DepthGenome(layerCount: 7, droppedAttention: [1, 4], droppedMLP: [1, 4])))
        let pair = try DepthSearchSpace(layerCount: 6, unit: .pair, target: .count(1))
        #expect(pair.contains(try DepthGenome(layerCount: 6, droppedAttention: [2, 3], droppedMLP: [2, 3])))
        #expect(!pair.contains(try DepthGenome(layerCount: 6, droppedAttention: [1, 2], droppedMLP: [1, 2])))
    }

    @Test func genomeRejectsBadIndices() {
        #expect(throws: SearchConfigurationError.layerIndexOutOfRange(layer: 6, layerCount: 6)) {
            try DepthGenome(layerCount: 6, droppedAttention: [6], droppedMLP: [])
        }
        #expect(throws: SearchConfigurationError.duplicateLayerIndex(layer: 2, kind: .mlp)) {
            try DepthGenome(layerCount: 6, droppedAttention: [], droppedMLP: [2, 2])
        }
    }

    @Test func genomeAndSpaceDecodeWithChecks() throws {
        let space = try DepthSearchSpace(layerCount: 30, unit: .subBlock, target: .fraction(0.25))
        let genome = try DepthGenome(layerCount: 30, droppedAttention: [9, 3], droppedMLP: [1])
        #expect(genome.droppedAttention == [3, 9])
        #expect(genome.attentionMask.filter { $0 }.count == 2)
        #expect(try JSONDecoder().decode(DepthSearchSpace.self, from: JSONEncoder().encode(space)) == space)
        #expect(try JSONDecoder().decode(DepthGenome.self, from: JSONEncoder().encode(genome)) == genome)
        let damaged = Data(#"{"layerCount":4,"droppedAttention":[7],"droppedMLP":[]}"#.utf8)
        #expect(throws: SearchConfigurationError.self) {
            try JSONDecoder().decode(DepthGenome.self, from: damaged)
        }
    }

    @Test func neighbourhoodSizeCountsSwapDistances() throws {
        // 10 blocks, 3 dropped: 3·7 + 3·21 + 1·35 = 119, every other genome of the 120.
        let block = try DepthSearchSpace(layerCount: 10, unit: .block, target: .count(3))
        #expect(block.neighbourhoodSize(maximumSwaps: 3) == 119)
        // Brute-force check on a two-group space: count genomes within three swaps of a fixed one.
        let subBlock = try DepthSearchSpace(
            layerCount: 5, unit: .subBlock, target: .subBlockCounts(attention: 2, mlp: 1))
        let origin = try subBlock.allGenomes()[0]
        let reachable = try subBlock.allGenomes().filter { genome in
            let distance = swapDistance(genome, origin, in: subBlock)
            return distance >= 1 && distance <= 3
        }
        #expect(subBlock.neighbourhoodSize(maximumSwaps: 3) == reachable.count)
    }
}
