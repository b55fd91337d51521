import ElideModels
import ElideTensor

/// The model's final norm and output projection, applied to final hidden states outside a session.
///
/// With `.f32` activations the head keeps a Float32 copy of the output matrix (vocabulary × width × 4
/// bytes: 108 MiB for SmolLM2), so the products run on it without expanding the stored blocks again
/// for every block of rows. The copy contains exactly the values the expansion gives, so the logits are
/// the same either way. Read-only after creation, so any number of threads may use one head.
final class OutputHead: @unchecked Sendable {
    let model: LlamaModel
    let precision: ActivationPrecision
    /// (vocabulary, width) Float32 copy of `model.output`, kept for `.f32` only.
    private let expanded: UnsafeMutablePointer<Float>?

    /// Rows of logits computed per matrix product: 128 rows of SmolLM2's vocabulary are 24 MiB.
    static let blockRows = 128

    init(model: LlamaModel, precision: ActivationPrecision, pool: ThreadPool) {
        self.model = model
        self.precision = precision
        guard precision == .f32 else {
            expanded = nil
            return
        }
        let output = model.output
        let copy = UnsafeMutablePointer<Float>.allocate(capacity: output.rows * output.columns)
        let rowsPerChunk = 1024
        pool.parallelFor((output.rows + rowsPerChunk - 1) / rowsPerChunk) { chunk in
            let first = chunk * rowsPerChunk
            let end = min(output.rows, first + rowsPerChunk)
            output.dequantize(rows: first..<end, into: copy + first * output.columns)
        }
        expanded = copy
    }

    deinit {
        expanded?.deallocate()
    }

    var width: Int { model.configuration.embeddingLength }
    var vocabularySize: Int { model.configuration.vocabularySize }

    /// The matrix the products use: the Float32 copy for `.f32`, else the stored one.
    private var matrix: QuantizedMatrix {
        guard let expanded else { return model.output }
        return QuantizedMatrix(type: .f32, rows: vocabularySize, columns: width, data: expanded)
    }

    /// Applies the final RMS norm to one row, as the forward pass does before its logits.
    func normalize(_ state: UnsafePointer<Float>, into: UnsafeMutablePointer<Float>) {
        Kernels.rmsNorm(
            state, weight: model.outputNorm, count: width, epsilon: model.configuration.rmsEpsilon, into: into)
    }

    /// Computes the full logits of `positions` final states in blocks of `blockRows` rows and passes each
    /// block to `body(firstPosition, rowCount, logits)`, where `logits` holds `rowCount × vocabularySize`
    /// floats valid during the call. The same states and head always give the same logits.
    func forEachLogitBlock(
        finalStates: UnsafePointer<Float>, positions: Int, pool: ThreadPool,
        _ body: (_ firstPosition: Int, _ rowCount: Int, _ logits: UnsafeMutablePointer<Float>) -> Void
    ) {
        let blockRows = Self.blockRows
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * width)
        defer { normed.deallocate() }
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * vocabularySize)
        defer { logits.deallocate() }
        let matrix = self.matrix

        var blockStart = 0
        while blockStart < positions {
            let rows = min(blockRows, positions - blockStart)
            for row in 0..<rows {
                normalize(finalStates + (blockStart + row) * width, into: normed + row * width)
            }
            Kernels.matmul(matrix, normed, tokens: rows, logits, precision: precision, pool: pool)
            body(blockStart, rows, logits)
            blockStart += rows
        }
    }

    /// Computes, for each of `positions` final states, the logits of the teacher's top `k` tokens at that
    /// position with `gatheredLogits`, and passes them to `body(position, logits)` on a pool thread.
    /// `logits` holds `k` floats valid during the call.
    func forEachTopKLogits(
        finalStates: UnsafePointer<Float>, positions: Int, k: Int, teacher: TeacherTargets, pool: ThreadPool,
        _ body: (_ position: Int, _ logits: UnsafeMutablePointer<Float>) -> Void
    ) {
        let perWorker = 2 * width + k
        let workerScratch = UnsafeMutablePointer<Float>.allocate(capacity: pool.threads * perWorker)
        defer { workerScratch.deallocate() }
        pool.parallelForWorkers(positions) { position, worker in
            let normed = workerScratch + worker * perWorker
            let row = normed + width
            let logits = row + width
            normalize(finalStates + position * width, into: normed)
            gatheredLogits(
                normed: normed, indices: teacher.topIndices(position: position), count: k, into: logits, row: row)
            body(position, logits)
        }
    }

    /// Computes the logits of `normed` (one normalised row) for the vocabulary entries `indices`, in
    /// Float32: each output row is expanded to floats (or read from the copy) and multiplied with
    /// `normed`. The arithmetic depends only on the row and the index, so the teacher and a candidate
    /// get identical values from identical states. `row` is scratch space of `width` floats.
    func gatheredLogits(
        normed: UnsafePointer<Float>, indices: UnsafePointer<Int32>, count: Int, into: UnsafeMutablePointer<Float>,
        row: UnsafeMutablePointer<Float>
    ) {
        for k in 0..<count {
            let index = Int(indices[k])
            if let expanded {
                into[k] = Kernels.dot(normed, expanded + index * width, count: width)
            } else {
                model.output.dequantizeRow(index, into: row)
                into[k] = Kernels.dot(normed, row, count: width)
            }
        }
    }
}
