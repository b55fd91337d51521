import ElideModels

/// Chooses the heads YOPO prunes, from attention maps on calibration images.
///
/// YOPO (arXiv 2410.06169) prunes heads whose visual attention is inactive, by a majority vote over
/// calibration samples. A ViT has no text tokens, so the score here is adapted: a head's spread is
/// 1 − (the largest share of attention any single key receives, averaged over all query rows). A head whose
/// queries all look at one key (a CLS or artifact "sink") has a spread near 0 and an output that barely depends
/// on the image. On each image the `count` lowest-spread heads get a vote; the `count` heads with the most
/// votes are pruned, ties going to the lower mean spread. Layers below `firstPrunableLayer` keep every head,
/// as YOPO keeps its first two layers.
public struct YOPOCalibration: Sendable {
    public let layers: Int
    public let heads: Int
    /// Votes per (layer, head), layer-major.
    public private(set) var votes: [Int]
    /// Sum of spreads per (layer, head) over the images seen.
    public private(set) var spreadSums: [Double]
    public private(set) var images = 0
    public let count: Int
    public let firstPrunableLayer: Int

    public init(layers: Int, heads: Int, count: Int, firstPrunableLayer: Int = 2) {
        self.layers = layers
        self.heads = heads
        self.count = count
        self.firstPrunableLayer = firstPrunableLayer
        votes = [Int](repeating: 0, count: layers * heads)
        spreadSums = [Double](repeating: 0, count: layers * heads)
    }

    /// Returns a head's spread from its `rows × rows` attention (query-major).
    public static func spread(attention: ArraySlice<Float>, rows: Int) -> Double {
        var keyMass = [Double](repeating: 0, count: rows)
        let start = attention.startIndex
        for query in 0..<rows {
            for key in 0..<rows { keyMass[key] += Double(attention[start + query * rows + key]) }
        }
        return 1 - (keyMass.max() ?? 0) / Double(rows)
    }

    /// Adds one image's votes; `attention[layer]` is `heads × rows × rows`.
    public mutating func add(attention: [[Float]], rows: Int) {
        var spreads: [(index: Int, spread: Double)] = []
        for layer in firstPrunableLayer..<layers {
            for head in 0..<heads {
                let size = rows * rows
                let value = Self.spread(attention: attention[layer][(head * size)..<((head + 1) * size)], rows: rows)
                spreads.append((layer * heads + head, value))
                spreadSums[layer * heads + head] += value
            }
        }
        for entry in spreads.sorted(by: { ($0.spread, $0.index) < ($1.spread, $1.index) }).prefix(count) {
            votes[entry.index] += 1
        }
        images += 1
    }

    /// Runs the model on one normalised image with full attention maps and adds its votes.
    public mutating func add(model: VisionTransformer, image: [Float], height: Int, width: Int) {
        var tokens = model.embed(image: image, height: height, width: width)
        var options = VisionLayerOptions()
        options.returnAllAttention = true
        var maps: [[Float]] = []
        for layer in 0..<layers {
            maps.append(model.runLayer(layer, tokens: &tokens, options: options).attention ?? [])
        }
        add(attention: maps, rows: tokens.rows)
    }

    /// The pruned heads by layer: the `count` heads with the most votes.
    public var prunedHeads: [Int: [Int]] {
        let ranked = (firstPrunableLayer * heads..<(layers * heads)).sorted {
            (-votes[$0], spreadSums[$0], $0) < (-votes[$1], spreadSums[$1], $1)
        }
        var result: [Int: [Int]] = [:]
        for index in ranked.prefix(count) { result[index / heads, default: []].append(index % heads) }
        return result.mapValues { $0.sorted() }
    }
}
