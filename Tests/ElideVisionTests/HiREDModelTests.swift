import ElideEngine
import Testing

@Suite(.serialized) struct HiREDModelTests {
    static func observation() throws -> PartitionedObservation {
        let runner = try VisionPolicyAssets.requireRunner()
        var values = [Float](repeating: 0.2, count: 3 * 40 * 40)
        for index in values.indices where (index / 40) % 40 > 25 && index % 40 < 12 { values[index] = 0.9 }
        let image = VisionImage(values: values, channels: 3, height: 40, width: 40)
        return runner.observe(views: PartitionedViews(image: image, side: 56, perSide: 2))
    }

    @Test func selectionUsesWholeBudget() throws {
        let observation = try Self.observation()
        #expect(observation.totalPatches == 5 * 16)
        for budget in [0.05, 0.1, 0.2, 0.4, 0.55, 1.0] {
            for selection: HiREDSettings.Selection in [.attention, .random(seed: 1), .spatial] {
                let settings = HiREDSettings(budget: budget, selection: selection)
                let chosen = observation.select(settings, imageIndex: 3)
                let expected = HiREDAllocation.budgetTokens(fraction: budget, tokenCount: 80)
                #expect(chosen.keptTokens == expected, "budget \(budget), \(selection)")
                #expect(chosen.kept.allSatisfy { Set($0).count == $0.count }, "budget \(budget), \(selection)")
            }
        }
    }

    @Test func attentionSelectionRanksByLastLayer() throws {
        let observation = try Self.observation()
        let chosen = observation.select(HiREDSettings(budget: 0.2))
        for (view, kept) in chosen.kept.enumerated() where !kept.isEmpty {
            let attention = observation.clsAttention[view][11]
            let weakestKept = kept.map { attention[$0] }.min()!
            let strongestDropped = (0..<16).filter { !kept.contains($0) }.map { attention[$0] }.max() ?? -1
            #expect(weakestKept >= strongestDropped, "view \(view)")
        }
        // ⌊0.5 · 16⌋ = 8 tokens go to the full view.
        #expect(chosen.kept[0].count == 8)
    }

    @Test func allocationFollowsQuadrantAttention() throws {
        let observation = try Self.observation()
        let chosen = observation.select(HiREDSettings(budget: 0.4))
        let regions = HiREDAllocation.quadrantRegions(gridHeight: 4, gridWidth: 4, perSide: 2)
        let early = observation.clsAttention[0][0]
        let scores = regions.map { $0.reduce(0) { $0 + Double(early[$1]) } }
        let shares = HiREDAllocation.allocate(total: 32, alpha: 0.5, scores: scores, capacities: [16, 16, 16, 16, 16])
        #expect(chosen.kept.map(\.count) == shares)
    }

    @Test func fullBudgetPoolsEveryToken() throws {
        let observation = try Self.observation()
        let chosen = observation.select(HiREDSettings(budget: 1))
        #expect(chosen.keptTokens == 80)
        var mean = [Float](repeating: 0, count: observation.width)
        for view in observation.patchFeatures {
            for (index, value) in view.enumerated() { mean[index % observation.width] += value / 80 }
        }
        let difference = zip(mean, chosen.pooled).map { abs($0 - $1) }.max()!
        #expect(difference < 1e-4)
    }

    @Test func randomBaselineVariesWithImageAndSeed() throws {
        let observation = try Self.observation()
        let a = observation.select(HiREDSettings(budget: 0.2, selection: .random(seed: 1)), imageIndex: 0)
        let b = observation.select(HiREDSettings(budget: 0.2, selection: .random(seed: 1)), imageIndex: 0)
        let c = observation.select(HiREDSettings(budget: 0.2, selection: .random(seed: 1)), imageIndex: 1)
        #expect(a.kept == b.kept)
        #expect(a.kept != c.kept)
    }
}
