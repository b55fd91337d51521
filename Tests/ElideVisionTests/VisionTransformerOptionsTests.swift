import ElideFormats
import ElideModels
import Testing

/// Layer options (CLS-only update, pruned heads, neighbourhood window, attention traces), FLOP counts and
/// determinism, on a small DINOv2-shaped model whose 4×4 patch grid is resized from its 3×3 position grid.
@Suite struct VisionTransformerOptionsTests {
    private let tiny = VisionTransformerTinyModel()
    private let side = 8  // 4×4 patches of 2 pixels

    private func embedded(threads: Int = 1) throws -> (VisionTransformer, VisionTokens) {
        let transformer = try VisionTransformer.load(model: tiny.build(), threads: threads)
        return (transformer, transformer.embed(image: tiny.image(height: side, width: side), height: side, width: side))
    }

    @Test func updateOnlyCLSMatchesFullRunOnCLS() throws {
        let (transformer, tokens) = try embedded()
        var full = tokens
        _ = transformer.runLayer(0, tokens: &full, options: VisionLayerOptions())
        var clsOnly = tokens
        var options = VisionLayerOptions()
        options.updateOnlyCLS = true
        let trace = transformer.runLayer(0, tokens: &clsOnly, options: options)

        #expect(Array(clsOnly.values[tiny.width...]) == Array(tokens.values[tiny.width...]))
        let worst = zip(clsOnly.row(0), full.row(0)).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-5, "CLS differs by \(worst) from the full layer")
        let fullFlops = transformer.runLayer(0, tokens: &full, options: VisionLayerOptions()).flops
        #expect(trace.flops < fullFlops)
    }

    @Test func prunedHeadsHaveNoEffectOrAttention() throws {
        let (transformer, tokens) = try embedded()
        var options = VisionLayerOptions()
        options.returnCLSAttention = true
        var pruned = tokens
        options.prunedHeads = [1]
        let trace = transformer.runLayer(0, tokens: &pruned, options: options)
        let clsAttention = try #require(trace.clsAttention)
        let rows = tokens.rows
        #expect(clsAttention[rows..<(2 * rows)].allSatisfy { $0 == 0 })
        let headZeroSum = clsAttention[0..<rows].reduce(0, +)
        #expect(abs(headZeroSum - 1) < 1e-5)

        var unpruned = tokens
        let fullTrace = transformer.runLayer(0, tokens: &unpruned, options: VisionLayerOptions())
        #expect(pruned.values != unpruned.values)
        let headFlops = 2 * rows * rows * tiny.configuration.headWidth
        #expect(fullTrace.flops - trace.flops == headFlops)
    }

    @Test func neighbourWindowRestrictsPatchAttention() throws {
        let (transformer, tokens) = try embedded()
        var options = VisionLayerOptions()
        options.neighbourWindow = 3
        options.returnAllAttention = true
        var windowed = tokens
        let trace = transformer.runLayer(0, tokens: &windowed, options: options)
        let attention = try #require(trace.attention)
        let rows = tokens.rows
        for head in 0..<tiny.heads {
            for query in 1..<rows {
                for key in 1..<rows {
                    let (qp, kp) = (tokens.positions[query], tokens.positions[key])
                    let far = abs(qp / 4 - kp / 4) > 1 || abs(qp % 4 - kp % 4) > 1
                    let probability = attention[(head * rows + query) * rows + key]
                    if far {
                        #expect(probability == 0, "head \(head): patch \(qp) attends to far patch \(kp)")
                    }
                }
                #expect(attention[(head * rows + query) * rows] > 0, "head \(head): patch row \(query) ignores CLS")
            }
            // CLS is never restricted.
            #expect(attention[(head * rows) * rows..<((head * rows) * rows + rows)].allSatisfy { $0 > 0 })
        }

        // A window covering the whole grid is full attention.
        options.neighbourWindow = 7
        options.returnAllAttention = false
        var wide = tokens
        _ = transformer.runLayer(0, tokens: &wide, options: options)
        var full = tokens
        _ = transformer.runLayer(0, tokens: &full, options: VisionLayerOptions())
        #expect(wide.values == full.values)
    }

    @Test func clsAttentionRowsSumToOne() throws {
        let (transformer, tokens) = try embedded()
        var options = VisionLayerOptions()
        options.returnCLSAttention = true
        options.returnAllAttention = true
        var copy = tokens
        let trace = transformer.runLayer(1, tokens: &copy, options: options)
        let cls = try #require(trace.clsAttention)
        let all = try #require(trace.attention)
        let rows = tokens.rows
        for head in 0..<tiny.heads {
            #expect(abs(cls[(head * rows)..<((head + 1) * rows)].reduce(0, +) - 1) < 1e-5)
            #expect(
                Array(cls[(head * rows)..<((head + 1) * rows)])
                    == Array(all[(head * rows * rows)..<(head * rows * rows + rows)]))
        }
    }

    @Test func flopsCountMatrixProducts() throws {
        let (transformer, tokens) = try embedded()
        var copy = tokens
        let trace = transformer.runLayer(0, tokens: &copy, options: VisionLayerOptions())
        let (r, w, m) = (tokens.rows, tiny.width, tiny.mlpWidth)
        #expect(trace.flops == r * w * 3 * w + 2 * r * r * w + r * w * w + 2 * r * w * m)
    }

    @Test func keepingAndAppendingRows() throws {
        let (_, tokens) = try embedded()
        let kept = tokens.keeping(rows: [0, 5, 2])
        #expect(kept.rows == 3)
        #expect(kept.positions == [-1, 4, 1])
        #expect(Array(kept.row(1)) == Array(tokens.row(5)))
        var extended = kept
        extended.append(rows: [Float](repeating: 1, count: tiny.width), positions: [-1])
        #expect(extended.rows == 4)
        #expect(extended.positions == [-1, 4, 1, -1])
        #expect(extended.row(3).allSatisfy { $0 == 1 })
    }

    @Test func forwardIsDeterministic() throws {
        let image = tiny.image(height: side, width: side)
        let single = try VisionTransformer.load(model: tiny.build())
        let first = single.forward(image: image, height: side, width: side)
        #expect(single.forward(image: image, height: side, width: side) == first)

        let twoThreads = try VisionTransformer.load(model: tiny.build(), threads: 2)
        let parallel = twoThreads.forward(image: image, height: side, width: side)
        #expect(twoThreads.forward(image: image, height: side, width: side) == parallel)
        let worst = zip(parallel.values, first.values).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-5, "1 and 2 threads differ by \(worst)")
    }
}
