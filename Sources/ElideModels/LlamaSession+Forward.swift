import ElideTensor

/// The rows of a forward call that produce logits.
public enum LogitRequest: Sendable {
    case none
    case last
    case all
}

extension LlamaSession {
    /// Runs `tokens` through the model starting at the current position and appends them to the KV cache.
    ///
    /// `onLogits(index, logits)` receives the vocabulary logits of each requested row, where `index` is the
    /// row's offset in `tokens`; the buffer is only valid during the call. Inputs longer than
    /// `batchCapacity` are processed in chunks, so a prompt of any length up to `capacity` fits.
    public func forward(
        _ tokens: [Int], logits request: LogitRequest = .last, observer: HiddenStateObserver? = nil,
        onLogits: (Int, UnsafeBufferPointer<Float>) -> Void = { _, _ in }
    ) {
        precondition(
            position + tokens.count <= capacity,
            "\(position + tokens.count) positions exceed the cache capacity \(capacity)")
        var start = 0
        while start < tokens.count {
            let end = min(start + batchCapacity, tokens.count)
            let isLastChunk = end == tokens.count
            let chunk = Array(tokens[start..<end])
            let rows: Range<Int>
            switch request {
            case .none: rows = 0..<0
            case .last: rows = isLastChunk ? (chunk.count - 1)..<chunk.count : 0..<0
            case .all: rows = 0..<chunk.count
            }
            forwardChunk(chunk, logitRows: rows, observer: observer) { row, logits in
                onLogits(start + row, logits)
            }
            start = end
        }
    }

    /// Runs `tokens` and returns the logits of the last one.
    public func logits(after tokens: [Int]) -> [Float] {
        var result: [Float] = []
        forward(tokens, logits: .last, onLogits: { _, logits in result = Array(logits) })
        return result
    }

    private func forwardChunk(
        _ tokens: [Int], logitRows: Range<Int>, observer: HiddenStateObserver?,
        onLogits: (Int, UnsafeBufferPointer<Float>) -> Void
    ) {
        let configuration = model.configuration
        let width = configuration.embeddingLength
        let count = tokens.count
        let hidden = scratch.hidden

        for (row, token) in tokens.enumerated() {
            precondition(
                token >= 0 && token < configuration.vocabularySize, "token id \(token) is outside the vocabulary")
            model.tokenEmbedding.dequantizeRow(token, into: hidden + row * width)
        }

        runLayers(from: 0, count: count, observer: observer)
        advance(by: count)
        emitLogits(rows: logitRows, onLogits: onLogits)
    }

    /// Runs every sub-block from `boundary` (see `SubBlockBoundary.index`) to the end on the `count` rows in
    /// `scratch.hidden`, reporting each boundary's hidden states to `observer`.
    func runLayers(from boundary: Int, count: Int, observer: HiddenStateObserver?) {
        let configuration = model.configuration
        let width = configuration.embeddingLength
        let hidden = scratch.hidden
        let layerCount = model.layers.count

        // One table of RoPE angles per position, shared by the query and key heads of every layer.
        for row in 0..<count {
            Kernels.ropeTable(
                position: position + row, base: configuration.ropeBase, headDim: configuration.headDimension,
                into: scratch.ropeTables + row * configuration.headDimension)
        }

        for index in (boundary / 2)..<layerCount {
            let layer = model.layers[index]
            if boundary <= 2 * index {
                observer?(index, .layerInput, UnsafeBufferPointer(start: hidden, count: count * width), count)
                if mask.attentionKept[index] {
                    attentionBlock(layer, index: index, count: count)
                }
            }
            observer?(index, .afterAttention, UnsafeBufferPointer(start: hidden, count: count * width), count)
            if mask.mlpKept[index] {
                if activeSkipper != nil {
                    skippableFeedForwardBlock(layer, index: index)
                } else {
                    feedForwardBlock(layer, count: count)
                }
            }
        }
        observer?(layerCount, .finalOutput, UnsafeBufferPointer(start: hidden, count: count * width), count)
    }

    /// Computes the output logits of `rows` (offsets into `scratch.hidden`) in groups of `scratch.logitRows`.
    func emitLogits(rows logitRows: Range<Int>, onLogits: (Int, UnsafeBufferPointer<Float>) -> Void) {
        guard !logitRows.isEmpty else { return }
        let configuration = model.configuration
        let width = configuration.embeddingLength
        let hidden = scratch.hidden
        let vocabulary = configuration.vocabularySize
        var rowStart = logitRows.lowerBound
        while rowStart < logitRows.upperBound {
            let rowEnd = min(rowStart + scratch.logitRows, logitRows.upperBound)
            for row in rowStart..<rowEnd {
                Kernels.rmsNorm(
                    hidden + row * width, weight: model.outputNorm, count: width, epsilon: configuration.rmsEpsilon,
                    into: scratch.normed + (row - rowStart) * width)
            }
            Kernels.matmul(
                model.output, scratch.normed, tokens: rowEnd - rowStart, scratch.logits, precision: precision,
                pool: pool)
            for row in rowStart..<rowEnd {
                onLogits(
                    row, UnsafeBufferPointer(start: scratch.logits + (row - rowStart) * vocabulary, count: vocabulary))
            }
            rowStart = rowEnd
        }
    }

    func attentionBlock(_ layer: LlamaModel.Layer, index: Int, count: Int) {
        let configuration = model.configuration
        let width = configuration.embeddingLength
        let kvWidth = configuration.kvDimension
        let headDimension = configuration.headDimension
        let hidden = scratch.hidden
        let normed = scratch.normed

        for row in 0..<count {
            Kernels.rmsNorm(
                hidden + row * width, weight: layer.attentionNorm, count: width, epsilon: configuration.rmsEpsilon,
                into: normed + row * width)
        }
        Kernels.matmul(
            [(layer.query, scratch.query), (layer.key, scratch.key), (layer.value, scratch.value)], normed,
            tokens: count, precision: precision, pool: pool)

        let keyCache = keys[index]!
        let valueCache = values[index]!
        for row in 0..<count {
            let absolute = position + row
            let table = scratch.ropeTables + row * headDimension
            Kernels.rope(
                scratch.query + row * width, heads: configuration.headCount, headDim: headDimension, table: table)
            Kernels.rope(
                scratch.key + row * kvWidth, heads: configuration.kvHeadCount, headDim: headDimension, table: table)
            let keyRow = keyCache + absolute * kvWidth
            let valueRow = valueCache + absolute * kvWidth
            keyRow.update(from: scratch.key + row * kvWidth, count: kvWidth)
            valueRow.update(from: scratch.value + row * kvWidth, count: kvWidth)
            if precision == .q8 {
                // llama.cpp keeps its KV cache in fp16 by default.
                roundToHalf(keyRow, count: kvWidth)
                roundToHalf(valueRow, count: kvWidth)
            }
        }

        if count >= Self.matrixAttentionThreshold {
            matrixAttention(keyCache: keyCache, valueCache: valueCache, count: count)
        } else {
            scaledDotProductAttention(keyCache: keyCache, valueCache: valueCache, count: count)
        }

        Kernels.matmul(
            layer.attentionOutput, scratch.attention, tokens: count, scratch.projected, precision: precision,
            pool: pool)
        Kernels.axpy(1, scratch.projected, hidden, count: count * width)
    }

    /// Batches of at least this many tokens compute attention as matrix products through OpenBLAS, in
    /// Float32 for both precisions as llama.cpp's tiled CPU attention does from 64 query rows on.
    static var matrixAttentionThreshold: Int { 64 }

    /// Causal grouped-query attention as two matrix products per head and block of rows:
    /// scores = Q·Kᵀ/√d over the visible positions, a masked softmax per row, then scores·V.
    private func matrixAttention(
        keyCache: UnsafeMutablePointer<Float>, valueCache: UnsafeMutablePointer<Float>, count: Int
    ) {
        let configuration = model.configuration
        let width = configuration.embeddingLength
        let kvWidth = configuration.kvDimension
        let headDimension = configuration.headDimension
        let heads = configuration.headCount
        let groupSize = heads / configuration.kvHeadCount
        let scale = 1 / Float(headDimension).squareRoot()
        let start = position
        let rowBlocks = LlamaScratch.attentionRowBlocks
        let rowsPerBlock = (count + rowBlocks - 1) / rowBlocks
        let query = scratch.query
        let output = scratch.attention
        let scores = scratch.blockScores
        let blockCapacity = scratch.blockScoreCapacity

        pool.parallelForWorkers(heads * rowBlocks) { chunk, worker in
            let head = chunk % heads
            let firstRow = (chunk / heads) * rowsPerBlock
            let lastRow = min(count, firstRow + rowsPerBlock)
            guard firstRow < lastRow else { return }
            let rows = lastRow - firstRow
            let visible = start + lastRow
            let kvOffset = (head / groupSize) * headDimension
            let block = scores + worker * blockCapacity
            precondition(rows * visible <= blockCapacity, "attention scratch holds \(blockCapacity) scores")

            Kernels.sgemm(
                m: rows, n: visible, k: headDimension, alpha: scale,
                a: query + firstRow * width + head * headDimension, lda: width,
                b: keyCache + kvOffset, ldb: kvWidth, transposeB: true,
                c: block, ldc: visible)
            for row in 0..<rows {
                let rowScores = block + row * visible
                let valid = start + firstRow + row + 1
                Kernels.softmax(rowScores, count: valid)
                if valid < visible {
                    (rowScores + valid).initialize(repeating: 0, count: visible - valid)
                }
            }
            Kernels.sgemm(
                m: rows, n: headDimension, k: visible,
                a: block, lda: visible,
                b: valueCache + kvOffset, ldb: kvWidth, transposeB: false,
                c: output + firstRow * width + head * headDimension, ldc: width)
        }
    }

    /// Causal grouped-query attention of the chunk's queries against every cached position up to their own.
    private func scaledDotProductAttention(
        keyCache: UnsafeMutablePointer<Float>, valueCache: UnsafeMutablePointer<Float>, count: Int
    ) {
        let configuration = model.configuration
        let width = configuration.embeddingLength
        let kvWidth = configuration.kvDimension
        let headDimension = configuration.headDimension
        let heads = configuration.headCount
        let groupSize = heads / configuration.kvHeadCount
        let scale = 1 / Float(headDimension).squareRoot()
        let start = position
        // llama.cpp's CPU flash attention runs batches of 64 or more query rows in float32 against the
        // fp16 cache, and smaller batches (decode steps, short prompts) with an fp16 query and fp16 weights.
        let roundsToHalf = precision == .q8 && count < 64

        // Split tokens into slices so both threads stay busy in decode (one token) and prefill alike.
        let slices = min(count, max(1, scratch.scoreSlots / heads))
        let tokensPerSlice = (count + slices - 1) / slices
        let query = scratch.query
        let output = scratch.attention
        let scores = scratch.scores
        let capacity = self.capacity

        pool.parallelFor(heads * slices) { chunk in
            let head = chunk % heads
            let slice = chunk / heads
            let kvHead = head / groupSize
            let rowScores = scores + chunk * capacity
            var roundedQuery = [Float](repeating: 0, count: headDimension)

            let firstRow = slice * tokensPerSlice
            let lastRow = min(count, firstRow + tokensPerSlice)
            guard firstRow < lastRow else { return }
            roundedQuery.withUnsafeMutableBufferPointer { roundedQuery in
                for row in firstRow..<lastRow {
                    let queryVector = query + row * width + head * headDimension
                    var queryPointer = UnsafePointer(queryVector)
                    if roundsToHalf {
                        // llama.cpp converts the query to fp16 before its dot products with the fp16 keys.
                        roundedQuery.baseAddress!.update(from: queryVector, count: headDimension)
                        roundToHalf(roundedQuery.baseAddress!, count: headDimension)
                        queryPointer = UnsafePointer(roundedQuery.baseAddress!)
                    }
                    let visible = start + row + 1
                    for position in 0..<visible {
                        let keyVector = keyCache + position * kvWidth + kvHead * headDimension
                        rowScores[position] = Kernels.dot(queryPointer, keyVector, count: headDimension) * scale
                    }
                    Kernels.softmax(rowScores, count: visible)
                    if roundsToHalf {
                        roundToHalf(rowScores, count: visible)
                    }
                    let outputVector = output + row * width + head * headDimension
                    outputVector.initialize(repeating: 0, count: headDimension)
                    for position in 0..<visible {
                        let valueVector = valueCache + position * kvWidth + kvHead * headDimension
                        Kernels.axpy(rowScores[position], valueVector, outputVector, count: headDimension)
                    }
                }
            }
        }
    }

    func feedForwardBlock(_ layer: LlamaModel.Layer, count: Int) {
        let configuration = model.configuration
        let width = configuration.embeddingLength
        let ffn = configuration.feedForwardLength
        let hidden = scratch.hidden
        let normed = scratch.normed

        for row in 0..<count {
            Kernels.rmsNorm(
                hidden + row * width, weight: layer.feedForwardNorm, count: width, epsilon: configuration.rmsEpsilon,
                into: normed + row * width)
        }
        Kernels.matmul(
            [(layer.gate, scratch.gate), (layer.up, scratch.up)], normed, tokens: count, precision: precision,
            pool: pool)
        Kernels.swiglu(gate: scratch.gate, up: scratch.up, count: count * ffn)
        Kernels.matmul(layer.down, scratch.gate, tokens: count, scratch.projected, precision: precision, pool: pool)
        Kernels.axpy(1, scratch.projected, hidden, count: count * width)
    }
}

/// Rounds each value to the nearest fp16 value, as storing it in an fp16 buffer would.
@inline(__always)
func roundToHalf(_ values: UnsafeMutablePointer<Float>, count: Int) {
    for index in 0..<count {
        values[index] = Float(Float16(values[index]))
    }
}
