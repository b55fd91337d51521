import ElideModels
import ElideTensor

/// The model's final norm and output projection, applied to final hidden states outside a session.
struct OutputHead {
    let model: LlamaModel
    var width: Int { model.configuration.embeddingLength }
    var vocabularySize: Int { model.configuration.vocabularySize }

    /// Applies the final RMS norm to one row, as the forward pass does before its logits.
    func normalize(_ state: UnsafePointer<Float>, into: UnsafeMutablePointer<Float>) {
        Kernels.rmsNorm(
            state, weight: model.outputNorm, count: width, epsilon: model.configuration.rmsEpsilon, into: into)
    }

    /// Rows of logits computed per matrix product: 128 rows of SmolLM2's vocabulary are 24 MiB, and
    /// OpenBLAS expands the quantized output matrix once per product, so larger blocks amortise that.
    static let blockRows = 128

    /// Computes the full logits of `positions` final states in blocks of `blockRows` rows and passes each
    /// block to `body(firstPosition, rowCount, logits)`, where `logits` holds `rowCount × vocabularySize`
    /// floats valid during the call. The same states, precision and block size always give the same logits.
    func forEachLogitBlock(
        finalStates: UnsafePointer<Float>, positions: Int, precision: ActivationPrecision, pool: ThreadPool,
        _ body: (_ firstPosition: Int, _ rowCount: Int, _ logits: UnsafeMutablePointer<Float>) -> Void
    ) {
        let blockRows = Self.blockRows
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * width)
        defer { normed.deallocate() }
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * vocabularySize)
        defer { logits.deallocate() }

        var blockStart = 0
        while blockStart < positions {
            let rows = min(blockRows, positions - blockStart)
            for row in 0..<rows {
                normalize(finalStates + (blockStart + row) * width, into: normed + row * width)
            }
            Kernels.matmul(model.output, normed, tokens: rows, logits, precision: precision, pool: pool)
            body(blockStart, rows, logits)
            blockStart += rows
        }
    }

    /// Computes the logits of `normed` (one normalised row) for the vocabulary entries `indices`, in
    /// Float32: each output row is expanded to floats and multiplied with `normed`. The arithmetic
    /// depends only on the row and the index, so the teacher and a candidate get identical values
    /// from identical states. `row` is scratch space of `width` floats.
    func gatheredLogits(
        normed: UnsafePointer<Float>, indices: UnsafePointer<Int32>, count: Int, into: UnsafeMutablePointer<Float>,
        row: UnsafeMutablePointer<Float>
    ) {
        for k in 0..<count {
            model.output.dequantizeRow(Int(indices[k]), into: row)
            into[k] = Kernels.dot(normed, row, count: width)
        }
    }
}
