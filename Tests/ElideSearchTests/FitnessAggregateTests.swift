import ElideSupport
import Testing

@testable import ElideSearch

@Suite struct FitnessAggregateTests {
    static let parts = (0..<40).map { id in
        SequenceDivergence(sequenceID: id * 3 + 1, divergenceSum: 1.0 / Double(id + 3) * 1000, tokenCount: 1000 + id)
    }

    @Test func meanIsTokenWeighted() throws {
        let aggregate = try FitnessAggregate([
            SequenceDivergence(sequenceID: 4, divergenceSum: 30, tokenCount: 10),
            SequenceDivergence(sequenceID: 2, divergenceSum: 10, tokenCount: 30),
        ])
        #expect(try aggregate.mean() == 1.0)
        #expect(aggregate.tokenCount == 40)
        #expect(aggregate.parts.map(\.sequenceID) == [2, 4])
    }

    @Test func mergeOrderGivesIdenticalBits() throws {
        let reference = try FitnessAggregate(Self.parts).mean()
        var generator = SeededGenerator(seed: 17)
        for round in 0..<50 {
            var shuffled = Self.parts
            shuffled.shuffle(using: &generator)
            // Split among up to four workers and merge their partial aggregates.
            let workers = 1 + round % 4
            var merged = FitnessAggregate()
            for worker in 0..<workers {
                let share = shuffled.enumerated().filter { $0.offset % workers == worker }.map(\.element)
                try merged.merge(FitnessAggregate(share))
            }
            #expect(try merged.mean().bitPattern == reference.bitPattern)
        }
    }

    @Test func invalidPartsAreRejected() throws {
        var aggregate = try FitnessAggregate([SequenceDivergence(sequenceID: 1, divergenceSum: 2, tokenCount: 3)])
        #expect(throws: FitnessAggregateError.duplicateSequence(1)) {
            try aggregate.add(SequenceDivergence(sequenceID: 1, divergenceSum: 2, tokenCount: 3))
        }
        #expect(throws: FitnessAggregateError.invalidTokenCount(sequenceID: 2, tokenCount: -1)) {
            try aggregate.add(SequenceDivergence(sequenceID: 2, divergenceSum: 2, tokenCount: -1))
        }
        #expect(throws: FitnessAggregateError.self) {
            try aggregate.add(SequenceDivergence(sequenceID: 3, divergenceSum: .infinity, tokenCount: 4))
        }
        #expect(throws: FitnessAggregateError.noTokens(sequenceCount: 0)) { try FitnessAggregate().mean() }
        #expect(aggregate.parts.count == 1)
    }

    @Test func validateChecksMinibatchCoverage() throws {
        let minibatch = Minibatch(sequences: [
            .init(sequenceID: 5, tokenCount: 1024), .init(sequenceID: 9, tokenCount: 512),
        ])
        let complete = try FitnessAggregate([
            SequenceDivergence(sequenceID: 9, divergenceSum: 1, tokenCount: 511),
            SequenceDivergence(sequenceID: 5, divergenceSum: 1, tokenCount: 1023),
        ])
        try complete.validate(covering: minibatch)
        let partial = try FitnessAggregate([SequenceDivergence(sequenceID: 5, divergenceSum: 1, tokenCount: 1023)])
        #expect(throws: FitnessAggregateError.sequenceMismatch(missing: [9], unexpected: [])) {
            try partial.validate(covering: minibatch)
        }
        let inflated = try FitnessAggregate([
            SequenceDivergence(sequenceID: 9, divergenceSum: 1, tokenCount: 600),
            SequenceDivergence(sequenceID: 5, divergenceSum: 1, tokenCount: 1023),
        ])
        #expect(throws: FitnessAggregateError.tooManyTokens(sequenceID: 9, scored: 600, fed: 512)) {
            try inflated.validate(covering: minibatch)
        }
    }
}
