import ElideEngine
import ElideSupport
import Testing

@Suite struct TokenReductionSelectionTests {
    @Test func topKeepsLargestInIndexOrder() {
        #expect(TokenSelection.top(2, of: [0.1, 0.9, 0.3, 0.8]) == [1, 3])
        #expect(TokenSelection.top(2, of: [0.5, 0.5, 0.5]) == [0, 1])
        #expect(TokenSelection.top(5, of: [1, 2]) == [0, 1])
        #expect(TokenSelection.top(0, of: [1, 2]).isEmpty)
    }

    @Test func keptCountRoundsUp() {
        #expect(TokenSelection.keptCount(keepRate: 0.1, candidates: 64) == 7)
        #expect(TokenSelection.keptCount(keepRate: 0.3, candidates: 10) == 3)
        #expect(TokenSelection.keptCount(keepRate: 1.0, candidates: 64) == 64)
        #expect(TokenSelection.keptCount(keepRate: 0.01, candidates: 5) == 1)
    }

    @Test func fusedTokenIsAttentionWeightedMean() {
        // Three rows of width 2; rows 0 and 2 are dropped with weights 1 and 3.
        let values: [Float] = [1, 2, 100, 100, 5, 6]
        let fused = TokenSelection.fusedToken(values: values, width: 2, dropped: [0, 2], weights: [1, 50, 3])
        #expect(fused == [4, 5])
        let uniform = TokenSelection.fusedToken(values: values, width: 2, dropped: [0, 2], weights: [0, 0, 0])
        #expect(uniform == [3, 4])
    }

    @Test func uniformGridSpreadsInTwoDimensions() {
        let region = Array(0..<64)  // an 8 × 8 block
        let picked = TokenSelection.uniformGrid(16, region: region, regionHeight: 8, regionWidth: 8)
        #expect(picked.count == 16)
        #expect(Set(picked.map { $0 / 8 }).count == 4)
        #expect(Set(picked.map { $0 % 8 }).count == 4)
        #expect(picked == [9, 11, 13, 15, 25, 27, 29, 31, 41, 43, 45, 47, 57, 59, 61, 63])
        for count in 1...64 {
            let some = TokenSelection.uniformGrid(count, region: region, regionHeight: 8, regionWidth: 8)
            #expect(some.count == count, "count \(count)")
            #expect(Set(some).count == count, "count \(count)")
        }
    }

    @Test func randomSubsetIsSeededAndDistinct() {
        var first = SeededGenerator(seed: 11)
        var second = SeededGenerator(seed: 11)
        let region = Array(100..<164)
        let a = TokenSelection.random(10, from: region, generator: &first)
        let b = TokenSelection.random(10, from: region, generator: &second)
        #expect(a == b)
        #expect(Set(a).count == 10)
        #expect(a.allSatisfy { region.contains($0) })
        var third = SeededGenerator(seed: 12)
        #expect(TokenSelection.random(10, from: region, generator: &third) != a)
    }
}
