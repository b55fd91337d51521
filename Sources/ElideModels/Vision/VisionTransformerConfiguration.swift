/// Shape of a DINOv2-style vision transformer: pre-norm layers with layer scale, a CLS token and learned
/// position embeddings on a square grid. The defaults are DINOv2-S/14.
public struct VisionTransformerConfiguration: Sendable, Equatable {
    public var layers = 12
    public var width = 384
    public var heads = 6
    public var mlpWidth = 1536
    /// Side of a square patch, in pixels.
    public var patchSize = 14
    /// Side of the square grid the position embeddings were trained on (37 for 518×518 pixels).
    public var positionGrid = 37
    public var layerNormEpsilon: Float = 1e-6
    /// The `a` of the bicubic kernel used to resize the position grid (-0.75 as in PyTorch).
    public var cubicCoefficient: Float = -0.75

    public init() {}

    public init(
        layers: Int, width: Int, heads: Int, mlpWidth: Int, patchSize: Int, positionGrid: Int,
        layerNormEpsilon: Float = 1e-6, cubicCoefficient: Float = -0.75
    ) {
        self.layers = layers
        self.width = width
        self.heads = heads
        self.mlpWidth = mlpWidth
        self.patchSize = patchSize
        self.positionGrid = positionGrid
        self.layerNormEpsilon = layerNormEpsilon
        self.cubicCoefficient = cubicCoefficient
    }

    /// Width of one attention head.
    public var headWidth: Int { width / heads }

    /// Values per patch in the patch embedding input: 3 colour channels × patchSize².
    public var patchValues: Int { 3 * patchSize * patchSize }
}
