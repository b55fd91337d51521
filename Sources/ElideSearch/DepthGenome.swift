/// A depth-compression plan for an n-layer transformer: the attention and MLP sub-blocks it drops.
///
/// A dropped sub-block adds nothing to the residual stream, so it acts as the identity. The genome itself carries
/// no budget, and `DepthSearchSpace.contains(_:)` checks that it fits a search space's unit and drop counts.
public struct DepthGenome: Hashable, Sendable {
    /// Number of transformer blocks in the model.
    public let layerCount: Int
    /// Layers whose attention sub-block is dropped, ascending and without repeats.
    public let droppedAttention: [Int]
    /// Layers whose MLP sub-block is dropped, ascending and without repeats.
    public let droppedMLP: [Int]

    /// Creates a genome after checking that every index lies in `0..<layerCount` and appears once per kind.
    public init(layerCount: Int, droppedAttention: [Int], droppedMLP: [Int]) throws {
        guard layerCount >= 1 else {
            throw SearchConfigurationError.invalidLayerCount(layerCount)
        }
        for (kind, layers) in [(SubBlockKind.attention, droppedAttention), (.mlp, droppedMLP)] {
            var seen = Set<Int>()
            for layer in layers {
                guard layer >= 0 && layer < layerCount else {
                    throw SearchConfigurationError.layerIndexOutOfRange(layer: layer, layerCount: layerCount)
                }
                guard seen.insert(layer).inserted else {
                    throw SearchConfigurationError.duplicateLayerIndex(layer: layer, kind: kind)
                }
            }
        }
        self.init(
            uncheckedLayerCount: layerCount, droppedAttention: droppedAttention.sorted(),
            droppedMLP: droppedMLP.sorted())
    }

    /// Creates a genome from sorted, in-range, repeat-free index lists that the caller has already checked.
    init(uncheckedLayerCount layerCount: Int, droppedAttention: [Int], droppedMLP: [Int]) {
        self.layerCount = layerCount
        self.droppedAttention = droppedAttention
        self.droppedMLP = droppedMLP
    }

    /// Attention mask over layers, `true` where the sub-block is dropped.
    public var attentionMask: [Bool] { Self.mask(layerCount, droppedAttention) }

    /// MLP mask over layers, `true` where the sub-block is dropped.
    public var mlpMask: [Bool] { Self.mask(layerCount, droppedMLP) }

    /// Total number of dropped sub-blocks, attention and MLP together.
    public var droppedSubBlockCount: Int { droppedAttention.count + droppedMLP.count }

    /// Layers whose attention and MLP sub-blocks are both dropped, so the whole block disappears on export.
    public var droppedBlocks: [Int] {
        let mlp = Set(droppedMLP)
        return droppedAttention.filter { mlp.contains($0) }
    }

    private static func mask(_ count: Int, _ dropped: [Int]) -> [Bool] {
        var mask = [Bool](repeating: false, count: count)
        for layer in dropped {
            mask[layer] = true
        }
        return mask
    }
}

/// The two kinds of sub-block in a transformer layer.
public enum SubBlockKind: String, Hashable, Codable, Sendable, CaseIterable {
    case attention
    case mlp
}

// MARK: - Codable

extension DepthGenome: Codable {
    private enum CodingKeys: String, CodingKey {
        case layerCount
        case droppedAttention
        case droppedMLP
    }

    /// Decodes a genome and checks it as `init(layerCount:droppedAttention:droppedMLP:)` does, so a damaged journal
    /// cannot smuggle in an out-of-range layer.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            layerCount: try container.decode(Int.self, forKey: .layerCount),
            droppedAttention: try container.decode([Int].self, forKey: .droppedAttention),
            droppedMLP: try container.decode([Int].self, forKey: .droppedMLP))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(layerCount, forKey: .layerCount)
        try container.encode(droppedAttention, forKey: .droppedAttention)
        try container.encode(droppedMLP, forKey: .droppedMLP)
    }
}

// MARK: - CustomStringConvertible

extension DepthGenome: CustomStringConvertible {
    /// A compact form such as `attention [3, 7] mlp [4] of 30 layers`.
    public var description: String {
        "attention \(droppedAttention) mlp \(droppedMLP) of \(layerCount) layers"
    }
}
