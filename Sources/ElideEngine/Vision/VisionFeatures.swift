/// The output of one policy run on one image: pooled features for the probes, CLS vectors for the
/// cross-layer aggregation head, and the cost.
public struct VisionFeatures: Sendable {
    /// CLS token after the final LayerNorm, width D.
    public var cls: [Float]
    /// Mean of the final-normed patch rows (patches and EViT's fused token; CLCA cache tokens excluded).
    public var meanPatch: [Float]
    /// CLS before the final norm after each stage layer (the reduction layers and the last layer),
    /// `stages × D`, stage-major: the CLA head's input.
    public var stageCLS: [Float]
    /// Multiply-adds of the embedding and every layer call.
    public var flops: Int
    /// Rows (CLS included) entering the last layer.
    public var finalRows: Int
    public var seconds: Double

    /// Returns the probe input: `cls` alone, or CLS and mean patch token concatenated (2 · D) as DINOv2's
    /// linear evaluation uses.
    public func probeFeature(_ input: ProbeInput) -> [Float] {
        input == .cls ? cls : cls + meanPatch
    }
}

/// The pooled features that single-view probes read.
public enum ProbeInput: String, Sendable, CaseIterable, Encodable {
    case cls
    case clsAndMeanPatch = "cls+mean"
}

/// The kind of each token row, tracked beside `VisionTokens.positions` because position -1 covers several.
enum TokenKind: Sendable, Equatable {
    case cls, patch, fused, cache
}
