import Testing

@testable import ElideModels

/// Tests of the skip decisions as a pure state machine, without a model.
@Suite struct FeedForwardSkipperTests {
    static func policy(
        warmup: Int = 3, coldStart: Int = 1, coldEnd: Int = 1, threshold: Float = 0.9, skipCount: Int = 2
    ) -> FeedForwardSkipPolicy {
        FeedForwardSkipPolicy(
            warmupTokens: warmup, coldStart: coldStart, coldEnd: coldEnd, threshold: threshold, skipCount: skipCount)
    }

    /// Plays one token: every kept layer's action, with `cosines[layer]` reported when measured.
    static func play(_ skipper: inout FeedForwardSkipper, mask: SubBlockMask, cosines: [Float]) -> (
        actions: [FeedForwardSkipper.Action?], skipped: [Int]
    ) {
        skipper.beginToken()
        var actions: [FeedForwardSkipper.Action?] = []
        for layer in 0..<mask.layerCount {
            guard mask.mlpKept[layer] else {
                actions.append(nil)
                continue
            }
            let action = skipper.action(forLayer: layer)
            if action == .runAndMeasure { skipper.record(cosine: cosines[layer]) }
            actions.append(action)
        }
        return (actions, skipper.endToken())
    }

    @Test func warmupTokensNeverSkip() {
        let mask = SubBlockMask.dense(layers: 8)
        var skipper = FeedForwardSkipper(rule: .adaptive(Self.policy(threshold: -1)), mask: mask, firstTokenIndex: 1)
        let cosines = [Float](repeating: 0.99, count: 8)
        for token in 1..<3 {
            let (actions, skipped) = Self.play(&skipper, mask: mask, cosines: cosines)
            #expect(skipped.isEmpty, "token \(token) is inside the warm-up of 3")
            #expect(actions.allSatisfy { $0 == .run })
        }
        let (_, skipped) = Self.play(&skipper, mask: mask, cosines: cosines)
        #expect(skipped == [2, 3, 5, 6])
        #expect(skipper.count == FeedForwardSkipCount(skipped: 4, considered: 8))
    }

    @Test func coldLayersAlwaysRun() {
        let mask = SubBlockMask.dense(layers: 10)
        let rule = FeedForwardSkipRule.adaptive(Self.policy(warmup: 0, coldStart: 3, coldEnd: 2, threshold: -1))
        var skipper = FeedForwardSkipper(rule: rule, mask: mask)
        let (actions, skipped) = Self.play(&skipper, mask: mask, cosines: Array(repeating: 1, count: 10))
        for layer in [0, 1, 2, 8, 9] {
            #expect(actions[layer] == .run, "cold layer \(layer)")
        }
        // Layer 3 runs and reaches τ, 4 and 5 skip, 6 runs and reaches τ, 7 skips; no eligible layer is left.
        #expect(skipped == [4, 5, 7])
        #expect(actions[3] == .runAndMeasure)
        #expect(actions[6] == .runAndMeasure)
    }

    @Test func cosineBelowThresholdKeepsRunning() {
        let mask = SubBlockMask.dense(layers: 6)
        var skipper = FeedForwardSkipper(rule: .adaptive(Self.policy(warmup: 0, threshold: 0.9)), mask: mask)
        // Layers 1..4 are eligible; only layer 2's cosine reaches τ, so layers 3 and 4 skip.
        let (actions, skipped) = Self.play(&skipper, mask: mask, cosines: [0, 0.5, 0.95, 0.99, 0.99, 0])
        #expect(skipped == [3, 4])
        #expect(actions[1] == .runAndMeasure)
        #expect(actions[2] == .runAndMeasure)
    }

    @Test func nanCosineAndInfiniteThresholdNeverSkip() {
        let mask = SubBlockMask.dense(layers: 6)
        var nanSkipper = FeedForwardSkipper(rule: .adaptive(Self.policy(warmup: 0, threshold: -1)), mask: mask)
        #expect(Self.play(&nanSkipper, mask: mask, cosines: Array(repeating: .nan, count: 6)).skipped.isEmpty)
        var dense = FeedForwardSkipper(rule: .adaptive(Self.policy(warmup: 0, threshold: .infinity)), mask: mask)
        for _ in 0..<5 {
            #expect(Self.play(&dense, mask: mask, cosines: Array(repeating: 1, count: 6)).skipped.isEmpty)
        }
        #expect(dense.count == FeedForwardSkipCount(skipped: 0, considered: 30))
    }

    @Test func droppedBlocksAreNotCountedOrSkipped() {
        var mask = SubBlockMask.dense(layers: 6)
        mask.mlpKept[2] = false
        var skipper = FeedForwardSkipper(rule: .adaptive(Self.policy(warmup: 0, threshold: -1)), mask: mask)
        let (actions, skipped) = Self.play(&skipper, mask: mask, cosines: Array(repeating: 1, count: 6))
        // Layer 1 reaches τ; the next two kept eligible blocks are 3 and 4 (2 is dropped, 5 is cold).
        #expect(actions[2] == nil)
        #expect(skipped == [3, 4])
        #expect(skipper.count == FeedForwardSkipCount(skipped: 2, considered: 5))
    }

    @Test func randomRuleReachesRatioAndRepeatsBySeed() throws {
        let mask = SubBlockMask.dense(layers: 30)
        let regions = Self.policy(warmup: 0, coldStart: 2, coldEnd: 2)
        let rule = FeedForwardSkipRule.random(ratio: 0.25, seed: 7, regions: regions)
        try rule.validate(mask: mask)
        func decisions(_ rule: FeedForwardSkipRule) -> (lists: [[Int]], count: FeedForwardSkipCount) {
            var skipper = FeedForwardSkipper(rule: rule, mask: mask)
            let lists = (0..<2_000).map { _ in Self.play(&skipper, mask: mask, cosines: []).skipped }
            return (lists, skipper.count)
        }
        let first = decisions(rule)
        #expect(abs(first.count.ratio - 0.25) < 0.01, "ratio \(first.count.ratio)")
        #expect(Set(first.lists.joined()).isSubset(of: Set(2..<28)))
        #expect(decisions(rule).lists == first.lists)
        #expect(decisions(.random(ratio: 0.25, seed: 8, regions: regions)).lists != first.lists)
    }

    @Test func randomRuleRejectsUnreachableRatio() {
        let mask = SubBlockMask.dense(layers: 10)
        let rule = FeedForwardSkipRule.random(ratio: 0.9, seed: 1, regions: Self.policy(coldStart: 3, coldEnd: 3))
        #expect(throws: FeedForwardSkipPolicyError.self) { try rule.validate(mask: mask) }
    }

    @Test func policyValidationNamesField() {
        let cases: [(FeedForwardSkipPolicy, String)] = [
            (Self.policy(warmup: -1), "warmup_tokens"),
            (Self.policy(coldStart: -2), "cold_start"),
            (Self.policy(skipCount: 0), "skip_count"),
            (Self.policy(threshold: .nan), "threshold"),
            (Self.policy(coldStart: 20, coldEnd: 20), "cold_start"),
        ]
        for (policy, field) in cases {
            #expect {
                try policy.validate(layerCount: 30)
            } throws: { error in
                (error as? FeedForwardSkipPolicyError)?.field == field && "\(error)".contains(field)
            }
        }
        #expect(throws: Never.self) { try Self.policy(coldStart: 15, coldEnd: 15).validate(layerCount: 30) }
    }
}
