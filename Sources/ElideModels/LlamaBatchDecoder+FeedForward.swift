import ElideTensor

extension LlamaBatchDecoder {
    /// Runs, measures or skips the FFN block of layer `index` for each row, as the row's skipper decides,
    /// with the products arranged by `strategy`.
    ///
    /// Both strategies give the rows that run the block the same numbers whenever the products compute each
    /// row on its own (always with `.q8` activations). With `.f32` activations a product of
    /// `Kernels.blasTokenThreshold` rows or more goes through OpenBLAS, so masking and regrouping can
    /// differ by rounding when they multiply batches on either side of that threshold.
    func feedForwardBlock(_ layer: LlamaModel.Layer, index: Int, sequences: [Int]) {
        let actions: [FeedForwardSkipper.Action] = sequences.map { skippers[$0]?.action(forLayer: index) ?? .run }
        let skipping = actions.filter { $0 == .skip }.count
        statistics.feedForwardBlocks += 1
        statistics.skippedRows += skipping

        // `multiplied[i]` is the scratch row whose state feeds row i of the products.
        let multiplied: [Int]
        switch strategy {
        case .maskedRows:
            multiplied = Array(sequences.indices)
        case .regrouped:
            if skipping == sequences.count { return }
            multiplied = actions.indices.filter { actions[$0] != .skip }
        }
        statistics.feedForwardProducts += 1
        statistics.feedForwardRows += multiplied.count

        let width = model.configuration.embeddingLength
        let hidden = scratch.hidden
        for (row, action) in actions.enumerated() where action == .runAndMeasure {
            (scratch.feedForwardInput + row * width).update(from: hidden + row * width, count: width)
        }

        multiplyFeedForward(layer, rows: multiplied)

        // Add the FFN output back only to the rows that run the block; the others keep their residual.
        for (product, row) in multiplied.enumerated() where actions[row] != .skip {
            Kernels.axpy(1, scratch.projected + product * width, hidden + row * width, count: width)
        }
        for (row, action) in actions.enumerated() where action == .runAndMeasure {
            let cosine = LlamaSession.cosineSimilarity(
                scratch.feedForwardInput + row * width, hidden + row * width, count: width)
            skippers[sequences[row]]!.record(cosine: cosine)  // !-safe: only a skipper returns .runAndMeasure.
        }
    }

    /// Computes FFN(h) = down(SiLU(gate(n)) ⊙ up(n)), n the normed state, for the scratch rows `rows`,
    /// gathered in order into rows 0..<rows.count of `scratch.projected`.
    private func multiplyFeedForward(_ layer: LlamaModel.Layer, rows: [Int]) {
        let configuration = model.configuration
        let width = configuration.embeddingLength
        let ffn = configuration.feedForwardLength

        for (product, row) in rows.enumerated() {
            Kernels.rmsNorm(
                scratch.hidden + row * width, weight: layer.feedForwardNorm, count: width,
                epsilon: configuration.rmsEpsilon, into: scratch.normed + product * width)
        }
        Kernels.matmul(
            [(layer.gate, scratch.gate), (layer.up, scratch.up)], scratch.normed, tokens: rows.count,
            precision: precision, pool: pool)
        // One call per row, as a single-row step makes, so the vector and scalar tails split each row alike.
        for product in rows.indices {
            Kernels.swiglu(gate: scratch.gate + product * ffn, up: scratch.up + product * ffn, count: ffn)
        }
        Kernels.matmul(
            layer.down, scratch.gate, tokens: rows.count, scratch.projected, precision: precision, pool: pool)
    }
}
