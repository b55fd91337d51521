import ElideModels
import ElideSupport

/// The ViT's output on HiRED's views, from which any budget's selection is made without running the model
/// again: HiRED drops tokens after the vision encoder, so every budget shares one encoder pass.
public struct PartitionedObservation: Sendable {
    /// Per view (full view first, then sub-images): final-normed patch tokens, `patches × D`.
    public let patchFeatures: [[Float]]
    /// Per view and layer: CLS attention summed over heads, over the patch rows only (`patches` values).
    public let clsAttention: [[[Float]]]
    public let gridSide: Int
    public let perSide: Int
    public let width: Int
    /// Multiply-adds of the encoder passes over all views.
    public let flops: Int
    public let seconds: Double

    public var patchesPerView: Int { gridSide * gridSide }
    public var totalPatches: Int { patchesPerView * patchFeatures.count }
}

/// The tokens a HiRED-family policy keeps on one image.
public struct PartitionedSelection: Sendable {
    /// Kept patch indices per view (full view first).
    public let kept: [[Int]]
    /// Mean of the kept tokens' final features, width D.
    public let pooled: [Float]
    public var keptTokens: Int { kept.reduce(0) { $0 + $1.count } }
}

extension VisionRunner {
    /// Runs the encoder on every view, keeping the final features and each layer's CLS attention.
    public func observe(views: PartitionedViews) -> PartitionedObservation {
        let start = MonotonicClock.now()
        var features: [[Float]] = []
        var attention: [[[Float]]] = []
        var flops = 0
        var options = VisionLayerOptions()
        options.returnCLSAttention = true
        var gridSide = 0
        for view in [views.full] + views.subImages {
            var tokens = model.embed(image: view, height: views.side, width: views.side)
            flops += model.embeddingFlops(height: views.side, width: views.side)
            gridSide = tokens.gridHeight
            var layers: [[Float]] = []
            for layer in 0..<model.configuration.layers {
                let trace = model.runLayer(layer, tokens: &tokens, options: options)
                flops += trace.flops
                layers.append(Self.headSum(trace.clsAttention ?? [], rows: tokens.rows))
            }
            let normed = model.finalNorm(tokens)
            features.append(Array(normed.values[normed.width...]))
            attention.append(layers)
        }
        return PartitionedObservation(
            patchFeatures: features, clsAttention: attention, gridSide: gridSide, perSide: views.perSide,
            width: model.configuration.width, flops: flops, seconds: MonotonicClock.seconds(since: start))
    }

    /// CLS attention summed over heads, patch rows only (row 0, CLS itself, is left out).
    static func headSum(_ attention: [Float], rows: Int) -> [Float] {
        guard !attention.isEmpty else { return [] }
        var sum = [Float](repeating: 0, count: rows - 1)
        for head in 0..<(attention.count / rows) {
            for row in 1..<rows { sum[row - 1] += attention[head * rows + row] }
        }
        return sum
    }
}

extension PartitionedObservation {
    /// Selects tokens under `settings` and pools them; `imageIndex` varies the random baseline per image.
    ///
    /// The full view receives ⌊α · N⌋ of the N = ⌊budget · all patches⌋ tokens. HiRED shares the rest over the
    /// sub-images by the full view's `allocationLayer` CLS attention summed over each sub-image's 2-D quadrant,
    /// and the random and spatial baselines share it equally. Inside each view, HiRED keeps the tokens with the
    /// highest `rankingLayer` CLS attention; the baselines draw them at random or on a uniform grid.
    public func select(_ settings: HiREDSettings, imageIndex: Int = 0) -> PartitionedSelection {
        precondition(
            settings.partitionsPerSide == perSide,
            "observed \(perSide) partitions per side, policy asks \(settings.partitionsPerSide)")
        let layers = clsAttention[0].count
        let total = HiREDAllocation.budgetTokens(fraction: settings.budget, tokenCount: totalPatches)
        let regions = HiREDAllocation.quadrantRegions(gridHeight: gridSide, gridWidth: gridSide, perSide: perSide)

        var scores = [Double](repeating: 0, count: regions.count)
        if case .attention = settings.selection {
            let early = clsAttention[0][min(settings.allocationLayer, layers - 1)]
            scores = regions.map { region in region.reduce(0) { $0 + Double(early[$1]) } }
        }
        let capacities = Array(repeating: patchesPerView, count: patchFeatures.count)
        let shares = HiREDAllocation.allocate(
            total: total, alpha: settings.alpha, scores: scores, capacities: capacities)

        let ranking = min(settings.rankingLayer ?? (layers - 1), layers - 1)
        let allPatches = Array(0..<patchesPerView)
        var kept: [[Int]] = []
        for (view, share) in shares.enumerated() {
            switch settings.selection {
            case .attention:
                kept.append(TokenSelection.top(share, of: clsAttention[view][ranking]))
            case .random(let seed):
                var generator = SeededGenerator(seed: seed).split(UInt64(imageIndex)).split(UInt64(view))
                kept.append(TokenSelection.random(share, from: allPatches, generator: &generator))
            case .spatial:
                kept.append(
                    TokenSelection.uniformGrid(share, region: allPatches, regionHeight: gridSide, regionWidth: gridSide)
                )
            }
        }

        var pooled = [Float](repeating: 0, count: width)
        let count = kept.reduce(0) { $0 + $1.count }
        for (view, indices) in kept.enumerated() {
            for index in indices {
                for column in 0..<width { pooled[column] += patchFeatures[view][index * width + column] }
            }
        }
        return PartitionedSelection(kept: kept, pooled: pooled.map { $0 / Float(max(1, count)) })
    }
}
