import ElideTensor

extension VisionTransformer {
    /// Runs transformer layer `index` on `tokens` in place:
    /// `x += λ1 ⊙ Attention(LN1(x))`, then `x += λ2 ⊙ MLP(LN2(x))`.
    ///
    /// `options` can restrict attention to a neighbourhood window, zero pruned heads, update only the CLS row,
    /// and ask for attention maps in the returned trace.
    public func runLayer(_ index: Int, tokens: inout VisionTokens, options: VisionLayerOptions) -> VisionLayerTrace {
        precondition(index >= 0 && index < layers.count, "VisionTransformer.runLayer: no layer \(index)")
        precondition(
            tokens.width == configuration.width,
            "VisionTransformer.runLayer: tokens have width \(tokens.width), the model \(configuration.width)")
        if let window = options.neighbourWindow {
            precondition(window >= 1 && window % 2 == 1, "neighbourWindow must be odd and at least 1, got \(window)")
        }
        let rows = tokens.rows
        guard rows > 0 else { return VisionLayerTrace() }
        let weights = layers[index]
        let width = configuration.width
        let mlpWidth = configuration.mlpWidth
        let updatedRows = options.updateOnlyCLS ? 1 : rows
        var flops = 0

        let normed = UnsafeMutablePointer<Float>.allocate(capacity: rows * width)
        let qkv = UnsafeMutablePointer<Float>.allocate(capacity: rows * 3 * width)
        let context = UnsafeMutablePointer<Float>.allocate(capacity: updatedRows * width)
        let projected = UnsafeMutablePointer<Float>.allocate(capacity: updatedRows * width)
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: updatedRows * mlpWidth)
        defer {
            normed.deallocate()
            qkv.deallocate()
            context.deallocate()
            projected.deallocate()
            hidden.deallocate()
        }

        let positions = tokens.positions
        let gridWidth = tokens.gridWidth
        var trace = VisionLayerTrace()
        tokens.values.withUnsafeMutableBufferPointer { buffer in
            let x = buffer.baseAddress!  // !-safe: rows > 0

            // Queries for the updated rows, keys and values for all rows.
            VisionMath.layerNorm(
                x, rows: rows, width: width, weight: weights.norm1Weight.base, bias: weights.norm1Bias.base,
                epsilon: configuration.layerNormEpsilon, output: normed)
            if options.updateOnlyCLS {
                multiplyRows(
                    m: rows, n: 2 * width, k: width, a: normed, lda: width, b: weights.qkv.base + width,
                    ldb: 3 * width, transposeB: false, c: qkv + width, ldc: 3 * width)
                Kernels.sgemm(
                    m: 1, n: width, k: width, a: normed, lda: width, b: weights.qkv.base, ldb: 3 * width,
                    transposeB: false, c: qkv, ldc: 3 * width)
                VisionMath.addBias(qkv, rows: 1, width: width, stride: 3 * width, bias: weights.qkvBias.base)
                VisionMath.addBias(
                    qkv + width, rows: rows, width: 2 * width, stride: 3 * width, bias: weights.qkvBias.base + width)
                flops += rows * width * 2 * width + width * width
            } else {
                multiplyRows(
                    m: rows, n: 3 * width, k: width, a: normed, lda: width, b: weights.qkv.base, ldb: 3 * width,
                    transposeB: false, c: qkv, ldc: 3 * width)
                VisionMath.addBias(qkv, rows: rows, width: 3 * width, stride: 3 * width, bias: weights.qkvBias.base)
                flops += rows * width * 3 * width
            }

            // Scaled dot-product attention per head.
            let attention = attend(
                qkv: qkv, positions: positions, gridWidth: gridWidth, updatedRows: updatedRows, options: options,
                context: context)
            flops += attention.flops
            trace.clsAttention = attention.clsAttention
            trace.attention = attention.attention

            // Output projection, layer scale and residual.
            multiplyRows(
                m: updatedRows, n: width, k: width, a: context, lda: width, b: weights.output.base, ldb: width,
                transposeB: false, c: projected, ldc: width)
            VisionMath.addBias(projected, rows: updatedRows, width: width, stride: width, bias: weights.outputBias.base)
            VisionMath.addScaled(x, projected, scale: weights.layerScale1.base, rows: updatedRows, width: width)
            flops += updatedRows * width * width

            // MLP with exact GELU, layer scale and residual.
            VisionMath.layerNorm(
                x, rows: updatedRows, width: width, weight: weights.norm2Weight.base, bias: weights.norm2Bias.base,
                epsilon: configuration.layerNormEpsilon, output: normed)
            multiplyRows(
                m: updatedRows, n: mlpWidth, k: width, a: normed, lda: width, b: weights.fc1.base, ldb: mlpWidth,
                transposeB: false, c: hidden, ldc: mlpWidth)
            applyGELU(hidden, rows: updatedRows, width: mlpWidth, bias: weights.fc1Bias.base)
            multiplyRows(
                m: updatedRows, n: width, k: mlpWidth, a: hidden, lda: mlpWidth, b: weights.fc2.base, ldb: width,
                transposeB: false, c: projected, ldc: width)
            VisionMath.addBias(projected, rows: updatedRows, width: width, stride: width, bias: weights.fc2Bias.base)
            VisionMath.addScaled(x, projected, scale: weights.layerScale2.base, rows: updatedRows, width: width)
            flops += 2 * updatedRows * width * mlpWidth
        }
        trace.flops = flops
        return trace
    }

    /// Adds the fc1 bias and applies GELU, split by rows across threads.
    private func applyGELU(_ hidden: UnsafeMutablePointer<Float>, rows: Int, width: Int, bias: UnsafePointer<Float>) {
        let blocks = min(threads, rows)
        parallel(blocks) { block in
            let start = rows * block / blocks
            let end = rows * (block + 1) / blocks
            VisionMath.addBias(hidden + start * width, rows: end - start, width: width, stride: width, bias: bias)
            VisionMath.gelu(hidden + start * width, count: (end - start) * width)
        }
    }

    private struct AttentionResult {
        var clsAttention: [Float]?
        var attention: [Float]?
        var flops: Int
    }

    /// Computes `softmax(q · kᵀ / √d) · v` for every head that is not pruned, writing each head's output into
    /// its columns of `context` (`updatedRows × width`); pruned heads leave zeros.
    private func attend(
        qkv: UnsafeMutablePointer<Float>, positions: [Int], gridWidth: Int, updatedRows: Int,
        options: VisionLayerOptions, context: UnsafeMutablePointer<Float>
    ) -> AttentionResult {
        let rows = positions.count
        let width = configuration.width
        let heads = configuration.heads
        let headWidth = configuration.headWidth
        let scale = 1 / Float(headWidth).squareRoot()
        let mask = options.neighbourWindow.map {
            neighbourMask(positions: positions, gridWidth: gridWidth, window: $0, queryRows: updatedRows)
        }
        let activeHeads = (0..<heads).filter { !options.prunedHeads.contains($0) }

        context.initialize(repeating: 0, count: updatedRows * width)
        var probabilities = [Float](repeating: 0, count: heads * updatedRows * rows)  // (heads, updatedRows, rows)
        probabilities.withUnsafeMutableBufferPointer { buffer in
            let all = buffer.baseAddress!  // !-safe: heads, updatedRows and rows are all positive
            parallel(activeHeads.count) { position in
                let head = activeHeads[position]
                let scores = all + head * updatedRows * rows
                Kernels.sgemm(
                    m: updatedRows, n: rows, k: headWidth, alpha: scale, a: qkv + head * headWidth, lda: 3 * width,
                    b: qkv + width + head * headWidth, ldb: 3 * width, transposeB: true, c: scores, ldc: rows)
                if let mask {
                    for index in 0..<(updatedRows * rows) where !mask[index] {
                        scores[index] = -.infinity
                    }
                }
                for row in 0..<updatedRows {
                    VisionMath.softmax(scores + row * rows, count: rows)
                }
                Kernels.sgemm(
                    m: updatedRows, n: headWidth, k: rows, a: scores, lda: rows,
                    b: qkv + 2 * width + head * headWidth, ldb: 3 * width, transposeB: false,
                    c: context + head * headWidth, ldc: width)
            }
        }

        var result = AttentionResult(flops: activeHeads.count * 2 * updatedRows * rows * headWidth)
        if options.returnCLSAttention {
            var cls = [Float](repeating: 0, count: heads * rows)
            for head in 0..<heads {
                let source = head * updatedRows * rows
                cls.replaceSubrange((head * rows)..<((head + 1) * rows), with: probabilities[source..<(source + rows)])
            }
            result.clsAttention = cls
        }
        if options.returnAllAttention {
            if updatedRows == rows {
                result.attention = probabilities
            } else {
                var full = [Float](repeating: 0, count: heads * rows * rows)
                for head in 0..<heads {
                    let source = head * updatedRows * rows
                    let target = head * rows * rows
                    full.replaceSubrange(
                        target..<(target + updatedRows * rows),
                        with: probabilities[source..<(source + updatedRows * rows)])
                }
                result.attention = full
            }
        }
        return result
    }

    /// Computes which (query row, key row) pairs may attend under a `window × window` neighbourhood, row-major over
    /// `queryRows × rows`. Rows without a grid position are never restricted.
    private func neighbourMask(positions: [Int], gridWidth: Int, window: Int, queryRows: Int) -> [Bool] {
        let radius = (window - 1) / 2
        let gridWidth = max(gridWidth, 1)
        let rows = positions.count
        var allowed = [Bool](repeating: true, count: queryRows * rows)
        for query in 0..<queryRows {
            let queryPosition = positions[query]
            guard queryPosition >= 0 else { continue }
            let queryRow = queryPosition / gridWidth
            let queryColumn = queryPosition % gridWidth
            for key in 0..<rows {
                let keyPosition = positions[key]
                guard keyPosition >= 0 else { continue }
                if abs(keyPosition / gridWidth - queryRow) > radius
                    || abs(keyPosition % gridWidth - queryColumn) > radius
                {
                    allowed[query * rows + key] = false
                }
            }
        }
        return allowed
    }
}
