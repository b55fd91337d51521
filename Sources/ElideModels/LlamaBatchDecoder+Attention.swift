import ElideTensor

extension LlamaBatchDecoder {
    /// Runs the attention sub-block of layer `index` for one row per sequence in `sequences`: the
    /// projections as batched products, then each row's attention against its own session's cache.
    func attentionBlock(_ layer: LlamaModel.Layer, index: Int, sequences: [Int]) {
        let configuration = model.configuration
        let width = configuration.embeddingLength
        let kvWidth = configuration.kvDimension
        let headDimension = configuration.headDimension
        let rows = sequences.count
        let hidden = scratch.hidden

        for row in 0..<rows {
            Kernels.rmsNorm(
                hidden + row * width, weight: layer.attentionNorm, count: width, epsilon: configuration.rmsEpsilon,
                into: scratch.normed + row * width)
        }
        Kernels.matmul(
            [(layer.query, scratch.query), (layer.key, scratch.key), (layer.value, scratch.value)], scratch.normed,
            tokens: rows, precision: precision, pool: pool)

        // Rotate, then append each row's key and value at its own sequence's position.
        for (row, sequence) in sequences.enumerated() {
            let session = sessions[sequence]
            let table = scratch.ropeTables + row * headDimension
            Kernels.rope(
                scratch.query + row * width, heads: configuration.headCount, headDim: headDimension, table: table)
            Kernels.rope(
                scratch.key + row * kvWidth, heads: configuration.kvHeadCount, headDim: headDimension, table: table)
            let keyRow = session.keys[index]! + session.position * kvWidth  // !-safe: the mask keeps this layer.
            let valueRow = session.values[index]! + session.position * kvWidth
            keyRow.update(from: scratch.key + row * kvWidth, count: kvWidth)
            valueRow.update(from: scratch.value + row * kvWidth, count: kvWidth)
            if precision == .q8 {
                // Sessions keep their KV cache at fp16 precision with q8 activations, as llama.cpp does.
                roundToHalf(keyRow, count: kvWidth)
                roundToHalf(valueRow, count: kvWidth)
            }
        }

        attendEachRow(index: index, sequences: sequences)

        Kernels.matmul(
            layer.attentionOutput, scratch.attention, tokens: rows, scratch.projected, precision: precision, pool: pool)
        for row in 0..<rows {
            Kernels.axpy(1, scratch.projected + row * width, hidden + row * width, count: width)
        }
    }

    /// Causal grouped-query attention of each row's query against every cached position of its sequence,
    /// one parallel work item per (row, head).
    ///
    /// The arithmetic is that of `LlamaSession`'s attention for a single decode token, step by step, with an
    /// fp16 query and fp16 softmax weights under `.q8`. That keeps a batched step bit-identical to
    /// single-sequence decoding, and `LlamaBatchDecoderTests` fails if the two copies drift apart.
    private func attendEachRow(index: Int, sequences: [Int]) {
        let configuration = model.configuration
        let width = configuration.embeddingLength
        let kvWidth = configuration.kvDimension
        let headDimension = configuration.headDimension
        let heads = configuration.headCount
        let groupSize = heads / configuration.kvHeadCount
        let scale = 1 / Float(headDimension).squareRoot()
        let roundsToHalf = precision == .q8
        let query = scratch.query
        let output = scratch.attention
        let capacity = scratch.capacity

        sequences.withUnsafeBufferPointer { sequences in
            pool.parallelFor(sequences.count * heads) { item in
                let row = item / heads
                let head = item % heads
                let session = sessions[sequences[row]]
                let keyCache = session.keys[index]!  // !-safe: the mask keeps this layer's attention.
                let valueCache = session.values[index]!
                let kvOffset = (head / groupSize) * headDimension
                let rowScores = scratch.scores + item * capacity
                let queryVector = query + row * width + head * headDimension
                var queryPointer = UnsafePointer(queryVector)
                if roundsToHalf {
                    let rounded = scratch.roundedQueries + item * headDimension
                    rounded.update(from: queryVector, count: headDimension)
                    roundToHalf(rounded, count: headDimension)
                    queryPointer = UnsafePointer(rounded)
                }

                // The position being decoded is already in the cache, so it attends to itself too.
                let visible = session.position + 1
                for position in 0..<visible {
                    let keyVector = keyCache + position * kvWidth + kvOffset
                    rowScores[position] = Kernels.dot(queryPointer, keyVector, count: headDimension) * scale
                }
                Kernels.softmax(rowScores, count: visible)
                if roundsToHalf {
                    roundToHalf(rowScores, count: visible)
                }
                let outputVector = output + row * width + head * headDimension
                outputVector.initialize(repeating: 0, count: headDimension)
                for position in 0..<visible {
                    let valueVector = valueCache + position * kvWidth + kvOffset
                    Kernels.axpy(rowScores[position], valueVector, outputVector, count: headDimension)
                }
            }
        }
    }
}
