/// A vision token-reduction policy: which tokens a ViT keeps, where, and what replaces the dropped ones.
///
/// Policies come from JSON files (`VisionPolicy.load(path:)`) or short command-line specs
/// (`VisionPolicy.parse(spec:)`), and `VisionRunner` applies them to a `VisionTransformer`.
public enum VisionPolicy: Sendable, Equatable {
    /// The unmodified model: every token through every layer.
    case none
    /// Top-K: after each reduction layer, keep the patches with the highest CLS attention and drop the rest.
    case topK(TokenReductionSettings)
    /// EViT: as top-K, but the dropped tokens are fused into one token weighted by their CLS attention.
    case evit(TokenReductionSettings)
    /// EViT plus CLCA's cross-layer cache; the cross-layer aggregation head is trained separately.
    case clca(TokenReductionSettings)
    /// HiRED-style dropping on a full view plus sub-image partitions under a token budget.
    case hired(HiREDSettings)
    /// YOPO adapted to a ViT: neighbour-window attention, pruned heads and CLS-only layers.
    case yopo(YOPOSettings)

    /// The method name used in JSON (`"method"`) and in specs.
    public var methodName: String {
        switch self {
        case .none: return "none"
        case .topK: return "top-k"
        case .evit: return "evit"
        case .clca: return "clca"
        case .hired(let settings): return settings.selection.methodName
        case .yopo: return "yopo"
        }
    }

    /// Whether the policy runs on HiRED's multi-view input (full view plus sub-images) instead of one view.
    public var usesPartitionedViews: Bool {
        if case .hired = self { return true }
        return false
    }
}

/// Settings shared by top-K, EViT and CLCA.
public struct TokenReductionSettings: Sendable, Equatable, Codable {
    /// Fraction of the non-CLS tokens kept at each reduction layer, in (0, 1]: ⌈keepRate · (N − 1)⌉ stay.
    public var keepRate: Double
    /// Layers (0-indexed) after which tokens are reduced; EViT and CLCA use 3, 6 and 9 on 12-layer ViTs.
    public var reductionLayers: [Int]

    public init(keepRate: Double, reductionLayers: [Int] = [3, 6, 9]) {
        self.keepRate = keepRate
        self.reductionLayers = reductionLayers
    }

    enum CodingKeys: String, CodingKey {
        case keepRate = "keep_rate"
        case reductionLayers = "reduction_layers"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        keepRate = try container.decode(Double.self, forKey: .keepRate)
        reductionLayers = try container.decodeIfPresent([Int].self, forKey: .reductionLayers) ?? [3, 6, 9]
    }
}

/// HiRED settings, also used by the random and spatial baselines at the same budget.
public struct HiREDSettings: Sendable, Equatable, Codable {
    /// The rule that picks tokens inside each partition.
    public enum Selection: Sendable, Equatable {
        /// HiRED: budget split by early-layer CLS attention, tokens ranked by a later layer's CLS attention.
        case attention
        /// Baseline: tokens drawn uniformly at random inside each partition, seeded.
        case random(seed: UInt64)
        /// Baseline: tokens on a uniform grid inside each partition.
        case spatial

        var methodName: String {
            switch self {
            case .attention: return "hired"
            case .random: return "random"
            case .spatial: return "spatial"
            }
        }
    }

    /// Fraction of all patch tokens (full view plus sub-images) kept, in (0, 1].
    public var budget: Double
    /// Share of the budget given to the full view; HiRED's default is 0.5.
    public var alpha: Double
    /// Layer whose CLS attention on the full view splits the sub-image budget; HiRED uses layer 0.
    public var allocationLayer: Int
    /// Layer whose CLS attention ranks tokens inside each partition; nil means the last layer.
    public var rankingLayer: Int?
    /// Sub-images per side: 2 gives four sub-images, each one 2-D quadrant of the image.
    public var partitionsPerSide: Int
    public var selection: Selection

    public init(
        budget: Double, alpha: Double = 0.5, allocationLayer: Int = 0, rankingLayer: Int? = nil,
        partitionsPerSide: Int = 2, selection: Selection = .attention
    ) {
        self.budget = budget
        self.alpha = alpha
        self.allocationLayer = allocationLayer
        self.rankingLayer = rankingLayer
        self.partitionsPerSide = partitionsPerSide
        self.selection = selection
    }

    enum CodingKeys: String, CodingKey {
        case budget, alpha
        case allocationLayer = "allocation_layer"
        case rankingLayer = "ranking_layer"
        case partitionsPerSide = "partitions_per_side"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        budget = try container.decode(Double.self, forKey: .budget)
        alpha = try container.decodeIfPresent(Double.self, forKey: .alpha) ?? 0.5
        allocationLayer = try container.decodeIfPresent(Int.self, forKey: .allocationLayer) ?? 0
        rankingLayer = try container.decodeIfPresent(Int.self, forKey: .rankingLayer)
        partitionsPerSide = try container.decodeIfPresent(Int.self, forKey: .partitionsPerSide) ?? 2
        selection = .attention
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(budget, forKey: .budget)
        try container.encode(alpha, forKey: .alpha)
        try container.encode(allocationLayer, forKey: .allocationLayer)
        try container.encodeIfPresent(rankingLayer, forKey: .rankingLayer)
        try container.encode(partitionsPerSide, forKey: .partitionsPerSide)
    }
}

/// YOPO settings adapted to a ViT (patch tokens play the role of visual tokens, CLS the role of text).
public struct YOPOSettings: Sendable, Equatable, Codable {
    /// Side w of the w × w neighbourhood each patch attends to in `windowLayers`; nil keeps full attention.
    public var window: Int?
    /// Layers where the neighbourhood window applies; nil with a window means every layer.
    public var windowLayers: [Int]?
    /// Heads whose attention output is zeroed, by layer (from `YOPOCalibration`).
    public var prunedHeads: [Int: [Int]]
    /// From this layer on, only the CLS token is updated and patch tokens are frozen; nil disables it.
    public var clsOnlyFromLayer: Int?

    public init(
        window: Int? = nil, windowLayers: [Int]? = nil, prunedHeads: [Int: [Int]] = [:], clsOnlyFromLayer: Int? = nil
    ) {
        self.window = window
        self.windowLayers = windowLayers
        self.prunedHeads = prunedHeads
        self.clsOnlyFromLayer = clsOnlyFromLayer
    }

    enum CodingKeys: String, CodingKey {
        case window
        case windowLayers = "window_layers"
        case prunedHeads = "pruned_heads"
        case clsOnlyFromLayer = "cls_only_from_layer"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        window = try container.decodeIfPresent(Int.self, forKey: .window)
        windowLayers = try container.decodeIfPresent([Int].self, forKey: .windowLayers)
        clsOnlyFromLayer = try container.decodeIfPresent(Int.self, forKey: .clsOnlyFromLayer)
        // JSON object keys are strings, so layers arrive as "3": [0, 5].
        let byName = try container.decodeIfPresent([String: [Int]].self, forKey: .prunedHeads) ?? [:]
        var heads: [Int: [Int]] = [:]
        for (name, list) in byName {
            guard let layer = Int(name) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .prunedHeads, in: container, debugDescription: "layer key '\(name)' is not a whole number")
            }
            heads[layer] = list
        }
        prunedHeads = heads
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(window, forKey: .window)
        try container.encodeIfPresent(windowLayers, forKey: .windowLayers)
        try container.encodeIfPresent(clsOnlyFromLayer, forKey: .clsOnlyFromLayer)
        let byName = Dictionary(uniqueKeysWithValues: prunedHeads.map { (String($0.key), $0.value.sorted()) })
        try container.encode(byName, forKey: .prunedHeads)
    }

    /// Number of pruned (layer, head) pairs.
    public var prunedHeadCount: Int { prunedHeads.values.reduce(0) { $0 + $1.count } }
}
