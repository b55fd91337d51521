import ElideEngine
import Testing

@Suite struct HiREDAllocationTests {
    @Test func quadrantsAreTwoDimensionalBlocks() {
        let regions = HiREDAllocation.quadrantRegions(gridHeight: 4, gridWidth: 4, perSide: 2)
        #expect(regions == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]])
        // Not row strips: every quadrant spans two rows and two columns.
        for region in regions {
            #expect(Set(region.map { $0 / 4 }).count == 2)
            #expect(Set(region.map { $0 % 4 }).count == 2)
        }
    }

    @Test func unevenGridCoversEveryPositionOnce() {
        let regions = HiREDAllocation.quadrantRegions(gridHeight: 5, gridWidth: 7, perSide: 2)
        #expect(regions.flatMap { $0 }.sorted() == Array(0..<35))
        #expect(regions.map(\.count) == [6, 8, 9, 12])
    }

    @Test func budgetTokensFloors() {
        #expect(HiREDAllocation.budgetTokens(fraction: 0.2, tokenCount: 320) == 64)
        #expect(HiREDAllocation.budgetTokens(fraction: 0.29, tokenCount: 100) == 29)
        #expect(HiREDAllocation.budgetTokens(fraction: 0.001, tokenCount: 100) == 1)
    }

    @Test func allocationUsesWholeBudget() {
        // 64 tokens: 32 to the full view, 32 over four sub-images by score with leftovers by largest remainder.
        let shares = HiREDAllocation.allocate(
            total: 64, alpha: 0.5, scores: [1, 1, 1, 0], capacities: [64, 64, 64, 64, 64])
        #expect(shares == [32, 11, 11, 10, 0])
        #expect(shares.reduce(0, +) == 64)
        for total in [1, 7, 33, 64, 150, 319, 320] {
            for alpha in [0.0, 0.3, 0.5, 1.0] {
                let shares = HiREDAllocation.allocate(
                    total: total, alpha: alpha, scores: [0.4, 0.1, 0.3, 0.2], capacities: [64, 64, 64, 64, 64])
                #expect(shares.reduce(0, +) == total, "total \(total), alpha \(alpha)")
                #expect(zip(shares, [64, 64, 64, 64, 64]).allSatisfy { $0 <= $1 }, "total \(total), alpha \(alpha)")
            }
        }
    }

    @Test func allocationRedistributesOverCapacity() {
        // One sub-image receives all the attention but only 10 tokens; the rest goes to the others by score.
        let shares = HiREDAllocation.allocate(
            total: 40, alpha: 0.5, scores: [10, 1, 1, 0], capacities: [64, 10, 64, 64, 64])
        #expect(shares[0] == 20)
        #expect(shares[1] == 10)
        #expect(shares.reduce(0, +) == 40)
        #expect(shares[2] == 6)
        #expect(shares[3] == 4)
        #expect(shares[4] == 0)
    }

    @Test func allocationWithZeroScoresSplitsEvenly() {
        let shares = HiREDAllocation.allocate(
            total: 20, alpha: 0.5, scores: [0, 0, 0, 0], capacities: [64, 64, 64, 64, 64])
        #expect(shares == [10, 3, 3, 2, 2])
    }
}
