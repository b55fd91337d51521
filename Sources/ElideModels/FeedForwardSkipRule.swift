/// The rule by which decode steps choose the FFN blocks they skip.
///
/// Both rules share the warm-up and the cold regions of a `FeedForwardSkipPolicy`, so a comparison between
/// them differs only in which eligible blocks are skipped.
public enum FeedForwardSkipRule: Sendable, Hashable {
    /// FFN-SkipLLM: skip the next `skipCount` eligible blocks after a block whose input and output have a
    /// cosine similarity of at least the policy's threshold.
    case adaptive(FeedForwardSkipPolicy)
    /// The input-independent baseline: each eligible block of a token after the warm-up is skipped on its
    /// own with a fixed probability, chosen so that the expected skip ratio (see `FeedForwardSkipCount`)
    /// is `ratio`. Only the policy's warm-up and cold regions are used; its threshold and skip count are not.
    case random(ratio: Double, seed: UInt64, regions: FeedForwardSkipPolicy)

    /// The policy whose warm-up and cold regions the rule uses.
    public var policy: FeedForwardSkipPolicy {
        switch self {
        case .adaptive(let policy): policy
        case .random(_, _, let regions): regions
        }
    }

    /// Checks the rule against `mask`; a random rule fails when its ratio needs more blocks than the cold
    /// regions leave eligible.
    public func validate(mask: SubBlockMask) throws {
        try policy.validate(layerCount: mask.layerCount)
        guard case .random(let ratio, _, let regions) = self else { return }
        guard ratio >= 0 && ratio <= 1 else {
            throw FeedForwardSkipPolicyError(field: nil, "the random skip ratio is \(ratio); it must lie in 0...1")
        }
        let kept = mask.mlpKept.filter { $0 }.count
        let eligible = FeedForwardSkipper.eligibleLayers(policy: regions, mask: mask).count
        guard ratio == 0 || Double(eligible) >= ratio * Double(kept) else {
            throw FeedForwardSkipPolicyError(
                field: nil,
                "a random skip ratio of \(ratio) needs \(ratio * Double(kept)) of the \(kept) kept FFN blocks per "
                    + "token, but only \(eligible) lie outside the cold regions; shrink cold_start or cold_end")
        }
    }
}

/// Skipped and considered FFN blocks over some decode steps.
///
/// The skip ratio is `skipped / considered`, where `considered` counts, for every decode step after the
/// warm-up, the FFN blocks the compression mask keeps (cold layers included). Blocks a plan drops are in
/// neither count, and neither are warm-up tokens or the prompt's prefill. Every report in Elide uses this
/// ratio; FFN-SkipLLM's paper divides by all FFN blocks of the generated tokens, warm-up included.
public struct FeedForwardSkipCount: Sendable, Hashable, Codable {
    public var skipped: Int
    public var considered: Int

    public init(skipped: Int = 0, considered: Int = 0) {
        self.skipped = skipped
        self.considered = considered
    }

    /// `skipped / considered`, or 0 when nothing was considered.
    public var ratio: Double { considered == 0 ? 0 : Double(skipped) / Double(considered) }

    public static func + (lhs: FeedForwardSkipCount, rhs: FeedForwardSkipCount) -> FeedForwardSkipCount {
        FeedForwardSkipCount(skipped: lhs.skipped + rhs.skipped, considered: lhs.considered + rhs.considered)
    }

    public static func += (lhs: inout FeedForwardSkipCount, rhs: FeedForwardSkipCount) { lhs = lhs + rhs }
}
