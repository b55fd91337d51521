import ElideFormats
import ElideTensor

/// A DINOv2-style vision transformer (patch embedding, CLS token, interpolated position embeddings, pre-norm
/// layers with layer scale and exact GELU, final LayerNorm) read from an ONNX export.
///
/// The forward pass is split into `embed`, `runLayer` and `finalNorm` so that token reduction and attention
/// pruning methods can change the tokens between layers. All matrix products go through `Kernels.sgemm`.
/// With `threads > 1` the large products are split by rows and attention by heads on a private
/// `ThreadPool`; results are deterministic for a fixed thread count.
public final class VisionTransformer: Sendable {
    public let configuration: VisionTransformerConfiguration
    /// Threads used by one call, the calling thread included.
    public let threads: Int

    let embedding: VisionEmbeddingStorage
    let layers: [VisionLayerStorage]
    let pool: ThreadPool?

    init(
        configuration: VisionTransformerConfiguration, embedding: VisionEmbeddingWeights,
        layers: [VisionLayerWeights], threads: Int
    ) {
        precondition(threads >= 1, "VisionTransformer needs at least 1 thread, got \(threads)")
        self.configuration = configuration
        self.embedding = VisionEmbeddingStorage(embedding)
        self.layers = layers.map(VisionLayerStorage.init)
        self.threads = threads
        self.pool = threads > 1 ? ThreadPool(threads: threads) : nil
    }

    /// Reads a DINOv2 backbone from an ONNX file exported from Hugging Face `Dinov2Model` (a saliency or
    /// classification head on top is ignored).
    ///
    /// - Parameters:
    ///   - heads: the attention head count, or nil to read it from the graph's attention `Reshape`.
    ///   - threads: threads per call (1 runs everything on the calling thread).
    /// - Throws: `ONNXError` when the file cannot be read, `VisionModelError` naming the layer and tensor
    ///   when the graph does not have the expected shape.
    public static func load(onnxPath: String, heads: Int? = nil, threads: Int = 1) throws -> VisionTransformer {
        try load(model: ONNXModel.load(path: onnxPath), heads: heads, threads: threads)
    }

    /// Maps an already loaded ONNX model; see `load(onnxPath:heads:threads:)`.
    public static func load(model: ONNXModel, heads: Int? = nil, threads: Int = 1) throws -> VisionTransformer {
        let mapped = try VisionGraphMapper(model: model, heads: heads).map()
        return VisionTransformer(
            configuration: mapped.configuration, embedding: mapped.embedding, layers: mapped.layers, threads: threads)
    }

    // MARK: - Embedding

    /// Embeds an image: patch projection, CLS token, and position embeddings resized bicubically from the
    /// training grid to the image's patch grid (as DINOv2's `interpolate_pos_encoding` in Hugging Face
    /// transformers, which the ONNX graph computes with a cubic `Resize`).
    ///
    /// - Parameter image: `3 × height × width` floats, channel-major, already normalised with the ImageNet
    ///   mean and standard deviation; `height` and `width` are multiples of the patch size.
    /// - Returns: `1 + gridHeight · gridWidth` rows (row 0 is CLS, then the patches row-major).
    public func embed(image: [Float], height: Int, width: Int) -> VisionTokens {
        let patch = configuration.patchSize
        let channels = configuration.width
        precondition(
            height > 0 && width > 0 && height % patch == 0 && width % patch == 0,
            "VisionTransformer.embed: image \(height)×\(width) is not a positive multiple of the patch size \(patch)")
        precondition(
            image.count == 3 * height * width,
            "VisionTransformer.embed: \(image.count) values for a 3×\(height)×\(width) image")
        let gridHeight = height / patch
        let gridWidth = width / patch
        let patchCount = gridHeight * gridWidth
        let patchValues = configuration.patchValues

        // Unfold the patches into rows of (channel, y, x), the layout of the convolution weight.
        var unfolded = [Float](repeating: 0, count: patchCount * patchValues)
        for gridRow in 0..<gridHeight {
            for gridColumn in 0..<gridWidth {
                let rowBase = (gridRow * gridWidth + gridColumn) * patchValues
                for channel in 0..<3 {
                    for y in 0..<patch {
                        let source = channel * height * width + (gridRow * patch + y) * width + gridColumn * patch
                        let target = rowBase + (channel * patch + y) * patch
                        for x in 0..<patch { unfolded[target + x] = image[source + x] }
                    }
                }
            }
        }

        var values = [Float](repeating: 0, count: (1 + patchCount) * channels)
        values.withUnsafeMutableBufferPointer { tokens in
            let output = tokens.baseAddress!  // !-safe: the buffer has at least one row
            for i in 0..<channels {
                output[i] = embedding.clsToken.pointer[i] + embedding.clsPosition.pointer[i]
            }
            unfolded.withUnsafeBufferPointer { rows in
                multiplyRows(
                    m: patchCount, n: channels, k: patchValues, a: rows.baseAddress!, lda: patchValues,
                    b: embedding.patchWeight.base, ldb: patchValues, transposeB: true, c: output + channels,
                    ldc: channels)
            }
            VisionMath.addBias(
                output + channels, rows: patchCount, width: channels, stride: channels, bias: embedding.patchBias.base)
            PositionGridResize.addResized(
                embedding.patchPositions.base, grid: configuration.positionGrid, width: channels,
                outputHeight: gridHeight, outputWidth: gridWidth, a: configuration.cubicCoefficient,
                into: output + channels)
        }
        return VisionTokens(
            values: values, rows: 1 + patchCount, width: channels, positions: [-1] + Array(0..<patchCount),
            gridHeight: gridHeight, gridWidth: gridWidth)
    }

    /// Multiply-adds of `embed` for an image of `height × width` pixels.
    public func embeddingFlops(height: Int, width: Int) -> Int {
        let patchCount = (height / configuration.patchSize) * (width / configuration.patchSize)
        return patchCount * configuration.patchValues * configuration.width
    }

    // MARK: - Final norm and whole forward pass

    /// Applies the final LayerNorm to every row.
    public func finalNorm(_ tokens: VisionTokens) -> VisionTokens {
        var result = tokens
        tokens.values.withUnsafeBufferPointer { input in
            result.values.withUnsafeMutableBufferPointer { output in
                VisionMath.layerNorm(
                    input.baseAddress!, rows: tokens.rows, width: tokens.width, weight: embedding.finalNormWeight.base,
                    bias: embedding.finalNormBias.base, epsilon: configuration.layerNormEpsilon,
                    output: output.baseAddress!)
            }
        }
        return result
    }

    /// Runs `embed`, every layer without options, and `finalNorm`.
    public func forward(image: [Float], height: Int, width: Int) -> VisionTokens {
        var tokens = embed(image: image, height: height, width: width)
        let options = VisionLayerOptions()
        for index in 0..<configuration.layers {
            _ = runLayer(index, tokens: &tokens, options: options)
        }
        return finalNorm(tokens)
    }

    // MARK: - Matrix products

    /// `C = alpha · A · op(B)` for `m` rows, split into one block of rows per thread.
    func multiplyRows(
        m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
        ldb: Int, transposeB: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard let pool, m >= 2 * threads else {
            Kernels.sgemm(
                m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, transposeB: transposeB, c: c, ldc: ldc)
            return
        }
        let blocks = threads
        pool.parallelFor(blocks) { block in
            let start = m * block / blocks
            let end = m * (block + 1) / blocks
            Kernels.sgemm(
                m: end - start, n: n, k: k, alpha: alpha, a: a + start * lda, lda: lda, b: b, ldb: ldb,
                transposeB: transposeB, c: c + start * ldc, ldc: ldc)
        }
    }

    /// Runs `body(index)` for `count` independent pieces of work on the pool, or inline with one thread.
    func parallel(_ count: Int, _ body: (Int) -> Void) {
        if let pool {
            pool.parallelFor(count, body)
        } else {
            for index in 0..<count { body(index) }
        }
    }
}

/// `VisionEmbeddingWeights` in buffers with stable addresses.
final class VisionEmbeddingStorage: Sendable {
    let patchWeight, patchBias, clsToken, clsPosition, patchPositions, finalNormWeight, finalNormBias: FloatBuffer

    init(_ weights: VisionEmbeddingWeights) {
        patchWeight = FloatBuffer(weights.patchWeight)
        patchBias = FloatBuffer(weights.patchBias)
        clsToken = FloatBuffer(weights.clsToken)
        clsPosition = FloatBuffer(weights.clsPosition)
        patchPositions = FloatBuffer(weights.patchPositions)
        finalNormWeight = FloatBuffer(weights.finalNormWeight)
        finalNormBias = FloatBuffer(weights.finalNormBias)
    }
}

/// `VisionLayerWeights` in buffers with stable addresses.
final class VisionLayerStorage: Sendable {
    let norm1Weight, norm1Bias, qkv, qkvBias, output, outputBias, layerScale1: FloatBuffer
    let norm2Weight, norm2Bias, fc1, fc1Bias, fc2, fc2Bias, layerScale2: FloatBuffer

    init(_ weights: VisionLayerWeights) {
        norm1Weight = FloatBuffer(weights.norm1Weight)
        norm1Bias = FloatBuffer(weights.norm1Bias)
        qkv = FloatBuffer(weights.qkv)
        qkvBias = FloatBuffer(weights.qkvBias)
        output = FloatBuffer(weights.output)
        outputBias = FloatBuffer(weights.outputBias)
        layerScale1 = FloatBuffer(weights.layerScale1)
        norm2Weight = FloatBuffer(weights.norm2Weight)
        norm2Bias = FloatBuffer(weights.norm2Bias)
        fc1 = FloatBuffer(weights.fc1)
        fc1Bias = FloatBuffer(weights.fc1Bias)
        fc2 = FloatBuffer(weights.fc2)
        fc2Bias = FloatBuffer(weights.fc2Bias)
        layerScale2 = FloatBuffer(weights.layerScale2)
    }
}
