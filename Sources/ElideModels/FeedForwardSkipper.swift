/// The per-sequence state of FFN skipping: which generated token the next decode step produces, the skip
/// run in progress inside the current token, and the random stream of the random rule.
///
/// The forward pass calls `action(forLayer:)` before each FFN block the mask keeps, and reports the
/// cosine of each block whose action is `.runAndMeasure`. The skipper does no arithmetic on activations, so its decisions
/// can be tested without a model.
public struct FeedForwardSkipper: Sendable {
    /// The forward pass's treatment of one FFN block.
    public enum Action: Sendable, Equatable {
        /// Run the block.
        case run
        /// Run the block and report cos(h, h + FFN(h)) through `record(cosine:)`.
        case runAndMeasure
        /// Leave the residual stream unchanged.
        case skip
    }

    public let rule: FeedForwardSkipRule
    /// Index of the generated token the next decode step produces; the prefill produces token 0.
    public private(set) var tokenIndex: Int
    /// Totals over every token ended so far.
    public private(set) var count = FeedForwardSkipCount()

    /// Layers whose FFN may be skipped: kept by the mask and outside the cold regions.
    private let eligible: [Bool]
    /// For each layer, whether an eligible layer follows it; a cosine measured after the last one is unused.
    private let eligibleFollows: [Bool]
    private let keptCount: Int
    /// Probability of skipping one eligible block under the random rule.
    private let randomSkipProbability: Double
    private var randomState: UInt64

    private var tokenActive = false
    private var remainingSkips = 0
    private var skippedLayers: [Int] = []

    /// Creates the state for one sequence decoded under `mask`.
    /// - Parameter firstTokenIndex: the generated-token index of the first decode step; 1 after a prefill
    ///   (which produced token 0), 0 when decoding starts from an empty cache without one.
    public init(rule: FeedForwardSkipRule, mask: SubBlockMask, firstTokenIndex: Int = 1) {
        let layers = Self.eligibleLayers(policy: rule.policy, mask: mask)
        var eligible = Array(repeating: false, count: mask.layerCount)
        for layer in layers { eligible[layer] = true }
        var eligibleFollows = Array(repeating: false, count: mask.layerCount)
        for layer in stride(from: mask.layerCount - 2, through: 0, by: -1) {
            eligibleFollows[layer] = eligible[layer + 1] || eligibleFollows[layer + 1]
        }
        self.rule = rule
        self.tokenIndex = firstTokenIndex
        self.eligible = eligible
        self.eligibleFollows = eligibleFollows
        self.keptCount = mask.mlpKept.filter { $0 }.count
        if case .random(let ratio, let seed, _) = rule, !layers.isEmpty {
            randomSkipProbability = min(1, ratio * Double(keptCount) / Double(layers.count))
            randomState = seed
        } else {
            randomSkipProbability = 0
            randomState = 0
        }
    }

    /// Returns the layers whose FFN `policy` may skip under `mask`, in order.
    public static func eligibleLayers(policy: FeedForwardSkipPolicy, mask: SubBlockMask) -> [Int] {
        (0..<mask.layerCount).filter { mask.mlpKept[$0] && !policy.isCold(layer: $0, layerCount: mask.layerCount) }
    }

    /// Whether the warm-up is over for the token the next decode step produces.
    public var isPastWarmup: Bool { tokenIndex >= max(rule.policy.warmupTokens, 1) }

    /// Starts the decode step that produces token `tokenIndex`.
    public mutating func beginToken() {
        tokenActive = isPastWarmup
        remainingSkips = 0
        skippedLayers = []
    }

    /// Returns what to do with the FFN block of `layer`, which the mask keeps.
    public mutating func action(forLayer layer: Int) -> Action {
        guard tokenActive && eligible[layer] else { return .run }
        switch rule {
        case .adaptive:
            if remainingSkips > 0 {
                remainingSkips -= 1
                skippedLayers.append(layer)
                return .skip
            }
            return eligibleFollows[layer] ? .runAndMeasure : .run
        case .random:
            guard nextUnitDouble() < randomSkipProbability else { return .run }
            skippedLayers.append(layer)
            return .skip
        }
    }

    /// Records the cosine of a block that `action(forLayer:)` asked to measure. A NaN cosine (a zero
    /// state) never reaches the threshold.
    public mutating func record(cosine: Float) {
        guard case .adaptive(let policy) = rule, cosine >= policy.threshold else { return }
        remainingSkips = policy.skipCount
    }

    /// Ends the current decode step and returns the layers whose FFN it skipped, in order.
    public mutating func endToken() -> [Int] {
        if tokenActive {
            count += FeedForwardSkipCount(skipped: skippedLayers.count, considered: keptCount)
        }
        tokenIndex += 1
        tokenActive = false
        return skippedLayers
    }

    /// Draws from SplitMix64 (Steele, Lea and Flood, OOPSLA 2014), mapped to 0..<1 with 53 bits.
    private mutating func nextUnitDouble() -> Double {
        randomState &+= 0x9E37_79B9_7F4A_7C15
        var z = randomState
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) * 0x1.0p-53
    }
}
