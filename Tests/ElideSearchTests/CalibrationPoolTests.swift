import ElideSupport
import Testing

@testable import ElideSearch

@Suite struct CalibrationPoolTests {
    @Test func minibatchDrawsDistinctSequencesAndCutsLast() throws {
        let pool = try CalibrationPool(sequenceCount: 40, tokensPerSequence: 1024)
        var generator = SeededGenerator(seed: 9)
        let minibatch = pool.drawMinibatch(tokens: 2500, using: &generator)
        #expect(minibatch.tokenCount == 2500)
        #expect(minibatch.sequences.map(\.tokenCount) == [1024, 1024, 452])
        #expect(Set(minibatch.sequences.map(\.sequenceID)).count == 3)
        #expect(minibatch.sequences.allSatisfy { (0..<40).contains($0.sequenceID) })

        var small = SeededGenerator(seed: 9)
        #expect(pool.drawMinibatch(tokens: 512, using: &small).sequences.map(\.tokenCount) == [512])
    }

    @Test func wholePoolUsesEverySequence() throws {
        let pool = try CalibrationPool(sequenceCount: 8, tokensPerSequence: 64)
        var generator = SeededGenerator(seed: 1)
        let minibatch = pool.drawMinibatch(tokens: 512, using: &generator)
        #expect(Set(minibatch.sequences.map(\.sequenceID)) == Set(0..<8))
    }

    @Test func invalidPoolsAreRejected() {
        #expect(throws: SearchConfigurationError.invalidCalibrationPool(sequenceCount: 0, tokensPerSequence: 1024)) {
            try CalibrationPool(sequenceCount: 0, tokensPerSequence: 1024)
        }
        #expect(throws: SearchConfigurationError.self) { try CalibrationPool(sequenceCount: 3, tokensPerSequence: 0) }
    }

    @Test func poolTooSmallForScheduleIsRejected() throws {
        let space = try DepthSearchSpace(layerCount: 30, unit: .subBlock, target: .fraction(0.25))
        let pool = try CalibrationPool(sequenceCount: 16, tokensPerSequence: 1024)
        do {
            _ = try EvoPressConfiguration(space: space, schedule: .paper, calibration: pool)
            Issue.record("a 16,384-token pool was accepted for 32,768-token stages")
        } catch let error as SearchConfigurationError {
            #expect(error.description.contains("selection stage 2"))
            #expect(error.description.contains("32768"))
        }
        #expect(try EvoPressConfiguration(space: space, schedule: .fast, calibration: pool).generationCount == 117)
    }

    @Test func uniformIndexCoversRangeEvenly() {
        var generator = SeededGenerator(seed: 21)
        var counts = [Int](repeating: 0, count: 6)
        for _ in 0..<6000 {
            counts[generator.uniformIndex(below: 6)] += 1
        }
        // Expected 1000 each with a standard deviation of about 29.
        #expect(counts.allSatisfy { abs($0 - 1000) < 120 }, "counts \(counts)")
    }
}
