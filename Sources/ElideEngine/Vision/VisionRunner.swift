import ElideModels
import ElideSupport

/// Runs a vision policy over a `VisionTransformer` and returns pooled features with the compute spent.
///
/// Token reduction follows EViT and CLCA (arXiv 2501.00243) with one difference. EViT drops tokens inside the
/// reduction layer, between attention and MLP, but this runner drops them after the whole layer, because the
/// layer call is the unit `VisionTransformer` exposes. The reduction layer's MLP therefore still runs on every
/// token.
///
/// CLCA's cache here holds only the pooled (GAP) patch tokens: each layer before the last recovery layer adds
/// the mean of its output patch rows, taken before that layer's reduction, and the cache re-enters the sequence
/// before each recovery layer (the reduction layers and depth − 2). Cache rows are never pruned or fused.
/// NOTE: CLCA's learnable carrier (CLR) tokens are left out because nothing here trains the backbone.
public struct VisionRunner: Sendable {
    public let model: VisionTransformer

    public init(model: VisionTransformer) {
        self.model = model
    }

    /// Runs `policy` (any method except HiRED and its baselines, which use `observe(views:)`) on one
    /// normalised `3 × height × width` image.
    public func run(image: [Float], height: Int, width: Int, policy: VisionPolicy) -> VisionFeatures {
        let start = MonotonicClock.now()
        var tokens = model.embed(image: image, height: height, width: width)
        var kinds = [TokenKind.cls] + Array(repeating: .patch, count: tokens.rows - 1)
        var flops = model.embeddingFlops(height: height, width: width)
        let depth = model.configuration.layers

        let reduction: TokenReductionSettings?
        switch policy {
        case .topK(let settings), .evit(let settings), .clca(let settings): reduction = settings
        case .none, .yopo: reduction = nil
        case .hired: preconditionFailure("VisionRunner.run: HiRED policies run through observe(views:)")
        }
        let reductionLayers = Set(reduction?.reductionLayers ?? [])
        let stageLayers = Set(reduction?.reductionLayers ?? Self.defaultStageLayers(depth: depth)).union([depth - 1])

        // CLCA's cross-layer cache: recovered at the reduction layers and at depth − 2, filled before the last.
        var cache: [Float] = []
        let recoveryLayers: Set<Int>
        if case .clca(let settings) = policy {
            recoveryLayers = Set(settings.reductionLayers).union([depth - 2])
        } else {
            recoveryLayers = []
        }
        let lastRecovery = recoveryLayers.max() ?? -1

        var stageCLS: [Float] = []
        for layer in 0..<depth {
            // Cache tokens re-enter the sequence at a recovery layer, and the cache empties.
            if recoveryLayers.contains(layer) && !cache.isEmpty {
                let count = cache.count / tokens.width
                tokens.append(rows: cache, positions: Array(repeating: -1, count: count))
                kinds += Array(repeating: .cache, count: count)
                cache = []
            }

            let options = layerOptions(policy: policy, layer: layer, reducing: reductionLayers.contains(layer))
            let trace = model.runLayer(layer, tokens: &tokens, options: options)
            flops += trace.flops

            if layer < lastRecovery {
                cache += Self.meanRow(tokens, kinds: kinds, including: [.patch, .fused])
            }
            if stageLayers.contains(layer) {
                stageCLS += tokens.row(0)
            }
            if let reduction, reductionLayers.contains(layer), let attention = trace.clsAttention {
                let fuse: Bool
                if case .topK = policy { fuse = false } else { fuse = true }
                reduce(&tokens, kinds: &kinds, clsAttention: attention, keepRate: reduction.keepRate, fuse: fuse)
            }
        }

        let finalRows = tokens.rows
        let normed = model.finalNorm(tokens)
        return VisionFeatures(
            cls: Array(normed.row(0)), meanPatch: Self.meanRow(normed, kinds: kinds, including: [.patch, .fused]),
            stageCLS: stageCLS, flops: flops, finalRows: finalRows, seconds: MonotonicClock.seconds(since: start))
    }

    /// Stage layers of a policy without reduction layers: those of EViT's default, 3, 6 and 9 on 12 layers.
    static func defaultStageLayers(depth: Int) -> [Int] {
        [depth / 4, depth / 2, 3 * depth / 4].filter { $0 < depth - 1 }
    }

    /// Returns the layer options a policy sets on `layer`.
    func layerOptions(policy: VisionPolicy, layer: Int, reducing: Bool) -> VisionLayerOptions {
        var options = VisionLayerOptions()
        options.returnCLSAttention = reducing
        if case .yopo(let settings) = policy {
            if let window = settings.window, settings.windowLayers?.contains(layer) ?? true {
                options.neighbourWindow = window
            }
            options.prunedHeads = Set(settings.prunedHeads[layer] ?? [])
            if let from = settings.clsOnlyFromLayer, layer >= from {
                options.updateOnlyCLS = true
            }
        }
        return options
    }

    /// Keeps the top ⌈keepRate · candidates⌉ candidate rows by head-mean CLS attention; with `fuse`, the
    /// dropped rows become one token weighted by that attention. Cache rows are never candidates and stay.
    func reduce(
        _ tokens: inout VisionTokens, kinds: inout [TokenKind], clsAttention: [Float], keepRate: Double, fuse: Bool
    ) {
        let rows = tokens.rows
        let heads = clsAttention.count / rows
        var meanAttention = [Float](repeating: 0, count: rows)
        for head in 0..<heads {
            for row in 0..<rows { meanAttention[row] += clsAttention[head * rows + row] / Float(heads) }
        }
        let candidates = (1..<rows).filter { kinds[$0] == .patch || kinds[$0] == .fused }
        let keep = TokenSelection.keptCount(keepRate: keepRate, candidates: candidates.count)
        guard keep < candidates.count else { return }

        let kept = TokenSelection.top(keep, of: candidates.map { meanAttention[$0] }).map { candidates[$0] }
        let keptSet = Set(kept)
        let dropped = candidates.filter { !keptSet.contains($0) }
        let cacheRows = (1..<rows).filter { kinds[$0] == .cache }
        let order = [0] + kept + cacheRows
        var fusedRow: [Float] = []
        if fuse {
            fusedRow = TokenSelection.fusedToken(
                values: tokens.values, width: tokens.width, dropped: dropped, weights: meanAttention)
        }
        tokens = tokens.keeping(rows: order)
        kinds = order.map { kinds[$0] }
        if fuse {
            tokens.append(rows: fusedRow, positions: [-1])
            kinds.append(.fused)
        }
    }

    /// Mean of the rows whose kind is in `including`; zeros when there are none.
    static func meanRow(_ tokens: VisionTokens, kinds: [TokenKind], including: Set<TokenKind>) -> [Float] {
        var mean = [Float](repeating: 0, count: tokens.width)
        let rows = (0..<tokens.rows).filter { including.contains(kinds[$0]) }
        guard !rows.isEmpty else { return mean }
        for row in rows {
            let base = row * tokens.width
            for column in 0..<tokens.width { mean[column] += tokens.values[base + column] }
        }
        let scale = 1 / Float(rows.count)
        return mean.map { $0 * scale }
    }
}
