extension Kernels {
    /// With `.f32` activations, batches of at least this many tokens expand the weights to Float in
    /// slices and multiply through OpenBLAS; smaller batches expand in registers. Measured on the
    /// SmolLM2 shapes: OpenBLAS is ahead from 4 tokens on and about even at 2.
    public static let blasTokenThreshold = 4

    /// Computes `y[t][r] = dot(row r of weights, x[t])` for every token `t` in `0..<tokens` and row `r`.
    ///
    /// `x` is `tokens × weights.columns` and `y` is `tokens × weights.rows`, both row-major Float, and
    /// they must not overlap.
    /// With `.q8`, each row of `x` is rounded once to the activation format llama.cpp pairs with the
    /// weight type (see `ActivationPrecision`), and the products run on the rounded values. With
    /// `.f32`, the activations stay Float and the weights are expanded to Float; batches of
    /// `blasTokenThreshold` tokens or more go through OpenBLAS.
    ///
    /// Steady-state calls do not allocate: scratch space comes from `pool`.
    public static func matmul(
        _ weights: QuantizedMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>,
        precision: ActivationPrecision, pool: ThreadPool
    ) {
        precondition(weights.type != .q8_1, "Q8_1 is an activation format; there is no product with Q8_1 weights")
        if tokens <= 0 || weights.rows == 0 { return }
        if precision == .f32 && tokens >= blasTokenThreshold {
            matmulBLAS(weights, x, tokens: tokens, y, pool: pool)
            return
        }
        let layout = ActivationLayout(weight: weights.type, precision: precision, columns: weights.columns)
        pool.withScratch(bytes: layout.scratchBytes(tokens: tokens)) { scratch in
            let activations = layout.prepare(x, tokens: tokens, scratch: scratch)
            let rows = weights.rows
            let perChunk = rowsPerChunk(rows: rows, threads: pool.threads)
            let chunks = (rows + perChunk - 1) / perChunk
            pool.parallelFor(chunks) { chunk in
                let first = chunk * perChunk
                productRows(
                    weights, first..<min(rows, first + perChunk), activations, layout: layout, tokens: tokens, y)
            }
        }
    }

    /// Computes several products that share the input `x` (for example the query, key and value
    /// projections, or the gate and up projections) as one parallel loop.
    ///
    /// Each `output` receives `tokens × weights.rows` floats, exactly what a separate `matmul` call would
    /// write. Sharing the loop rounds `x` once and replaces several small loops by one, which matters
    /// for matrices of a few hundred rows. Products whose weights differ in type or column count, and
    /// batched `.f32` products (which go through OpenBLAS), run one after another.
    public static func matmul(
        _ products: [(weights: QuantizedMatrix, output: UnsafeMutablePointer<Float>)], _ x: UnsafePointer<Float>,
        tokens: Int, precision: ActivationPrecision, pool: ThreadPool
    ) {
        guard let first = products.first?.weights else { return }
        let uniform = products.allSatisfy { $0.weights.type == first.type && $0.weights.columns == first.columns }
        if products.count == 1 || !uniform || (precision == .f32 && tokens >= blasTokenThreshold) {
            for product in products {
                matmul(product.weights, x, tokens: tokens, product.output, precision: precision, pool: pool)
            }
            return
        }

        precondition(first.type != .q8_1, "Q8_1 is an activation format; there is no product with Q8_1 weights")
        if tokens <= 0 { return }
        let layout = ActivationLayout(weight: first.type, precision: precision, columns: first.columns)
        let totalRows = products.reduce(0) { $0 + $1.weights.rows }
        let perChunk = rowsPerChunk(rows: totalRows, threads: pool.threads)

        // Each product's rows are cut into chunks of `perChunk` rows (its last chunk may be shorter),
        // so that no chunk spans two products.
        var chunkStarts = [(product: Int, row: Int)]()
        for (index, product) in products.enumerated() {
            for row in stride(from: 0, to: product.weights.rows, by: perChunk) {
                chunkStarts.append((index, row))
            }
        }
        pool.withScratch(bytes: layout.scratchBytes(tokens: tokens)) { scratch in
            let activations = layout.prepare(x, tokens: tokens, scratch: scratch)
            chunkStarts.withUnsafeBufferPointer { starts in
                pool.parallelFor(starts.count) { chunk in
                    let (index, row) = starts[chunk]
                    let product = products[index]
                    let end = min(product.weights.rows, row + perChunk)
                    productRows(product.weights, row..<end, activations, layout: layout, tokens: tokens, product.output)
                }
            }
        }
    }

    /// Returns a multiple of 4 that splits `rows` into about 8 chunks per thread (at least 16 rows each).
    /// A thread that finishes early then takes over work, and no chunk is so small that claiming it
    /// costs more than computing it.
    static func rowsPerChunk(rows: Int, threads: Int) -> Int {
        if threads == 1 { return rows }
        let target = (rows + threads * 8 - 1) / (threads * 8)
        return max(16, (target + 3) / 4 * 4)
    }

    /// Computes `y[t][r]` for `r` in `range` and every token.
    static func productRows(
        _ weights: QuantizedMatrix, _ range: Range<Int>, _ activations: UnsafeRawPointer, layout: ActivationLayout,
        tokens: Int, _ y: UnsafeMutablePointer<Float>
    ) {
        #if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
            let columns = weights.columns
            let blocks = columns / 32
            switch (weights.type, layout.type) {
            case (.q4_1, .q8_1):
                forEachQuad(weights, range, activations, layout, tokens, y) { AVX2Kernels.q4_1($0, $1, blocks: blocks) }
            case (.q4_0, .q8_0):
                forEachQuad(weights, range, activations, layout, tokens, y) { AVX2Kernels.q4_0($0, $1, blocks: blocks) }
            case (.q8_0, .q8_0):
                forEachQuad(weights, range, activations, layout, tokens, y) { AVX2Kernels.q8_0($0, $1, blocks: blocks) }
            case (.q4_1, .f32):
                forEachQuad(weights, range, activations, layout, tokens, y) {
                    AVX2Kernels.q4_1($0, floats: $1.assumingMemoryBound(to: Float.self), blocks: blocks)
                }
            case (.q4_0, .f32):
                forEachQuad(weights, range, activations, layout, tokens, y) {
                    AVX2Kernels.q4_0($0, floats: $1.assumingMemoryBound(to: Float.self), blocks: blocks)
                }
            case (.q8_0, .f32):
                forEachQuad(weights, range, activations, layout, tokens, y) {
                    AVX2Kernels.q8_0($0, floats: $1.assumingMemoryBound(to: Float.self), blocks: blocks)
                }
            case (.f16, .f32) where columns % 8 == 0:
                forEachQuad(weights, range, activations, layout, tokens, y) {
                    AVX2Kernels.f16($0, floats: $1.assumingMemoryBound(to: Float.self), count: columns)
                }
            case (.bf16, .f32) where columns % 8 == 0:
                forEachQuad(weights, range, activations, layout, tokens, y) {
                    AVX2Kernels.bf16($0, floats: $1.assumingMemoryBound(to: Float.self), count: columns)
                }
            case (.f32, .f32) where columns % 8 == 0:
                forEachQuad(weights, range, activations, layout, tokens, y) {
                    AVX2Kernels.f32($0, floats: $1.assumingMemoryBound(to: Float.self), count: columns)
                }
            default:
                productRowsPortable(weights, range, activations, layout: layout, tokens: tokens, y)
            }
        #else
            productRowsPortable(weights, range, activations, layout: layout, tokens: tokens, y)
        #endif
    }

    static func productRowsPortable(
        _ weights: QuantizedMatrix, _ range: Range<Int>, _ activations: UnsafeRawPointer, layout: ActivationLayout,
        tokens: Int, _ y: UnsafeMutablePointer<Float>
    ) {
        for t in 0..<tokens {
            let a = activations + t * layout.rowBytes
            for r in range {
                y[t * weights.rows + r] = DotProducts.scalar(
                    weights.type, weights.rowPointer(r), layout.type, a, count: weights.columns)
            }
        }
    }

    /// Calls `kernel` on groups of four rows of `range` (the last group repeats its final row to fill
    /// four) for every token, and stores the results. Tokens iterate inside each group, so a group's
    /// weights stay in L1 while the activations stream past.
    @inline(__always)
    static func forEachQuad(
        _ weights: QuantizedMatrix, _ range: Range<Int>, _ activations: UnsafeRawPointer, _ layout: ActivationLayout,
        _ tokens: Int, _ y: UnsafeMutablePointer<Float>,
        _ kernel: (DotProductsQuad, UnsafeRawPointer) -> SIMD4<Float>
    ) {
        let rows = weights.rows
        var r = range.lowerBound
        while r < range.upperBound {
            let valid = min(4, range.upperBound - r)
            let last = r + valid - 1
            let quad: DotProductsQuad = (
                weights.rowPointer(r), weights.rowPointer(min(r + 1, last)),
                weights.rowPointer(min(r + 2, last)), weights.rowPointer(last)
            )
            for t in 0..<tokens {
                let result = kernel(quad, activations + t * layout.rowBytes)
                let out = y + t * rows + r
                if valid == 4 {
                    UnsafeMutableRawPointer(out).storeBytes(of: result, as: SIMD4<Float>.self)
                } else {
                    for lane in 0..<valid { out[lane] = result[lane] }
                }
            }
            r += 4
        }
    }

    /// Batched `.f32` product: each chunk of rows is expanded to Float in a per-thread slice of the
    /// scratch buffer (F32 weights are used in place) and multiplied by all tokens with one sgemm.
    static func matmulBLAS(
        _ weights: QuantizedMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>,
        pool: ThreadPool
    ) {
        let rows = weights.rows
        let columns = weights.columns
        // About 4 chunks per thread, 32 to 256 rows each: enough to balance the threads, and large
        // enough for OpenBLAS's register tiles.
        let perChunk = min(rows, max(32, min(256, (rows + pool.threads * 4 - 1) / (pool.threads * 4))))
        let chunks = (rows + perChunk - 1) / perChunk
        let sliceFloats = weights.type == .f32 ? 0 : perChunk * columns
        pool.withScratch(bytes: sliceFloats * 4 * pool.threads) { scratch in
            let slices = scratch.bindMemory(to: Float.self, capacity: sliceFloats * pool.threads)
            pool.parallelForWorkers(chunks) { chunk, worker in
                let first = chunk * perChunk
                let count = min(perChunk, rows - first)
                let b: UnsafePointer<Float>
                if weights.type == .f32 {
                    b = weights.rowPointer(first).assumingMemoryBound(to: Float.self)
                } else {
                    let slice = slices + worker * sliceFloats
                    weights.dequantize(rows: first..<(first + count), into: slice)
                    b = UnsafePointer(slice)
                }
                sgemm(
                    m: tokens, n: count, k: columns, a: x, lda: columns, b: b, ldb: columns, transposeB: true,
                    c: y + first, ldc: rows)
            }
        }
    }
}

/// Four weight-row pointers handed to a four-row kernel.
typealias DotProductsQuad = (UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer)

/// The storage format of the activations that `matmul`'s kernels read.
struct ActivationLayout {
    /// Q8_0 or Q8_1 blocks, or F32 (for F16/BF16 weights at `.q8`, F32 values already rounded to
    /// F16/BF16, which gives the same products as llama.cpp's F16·F16 and BF16·BF16 dot products).
    let type: GGMLType
    /// Rounding applied to F32 activations: `.f16`, `.bf16`, or `.f32` for none.
    let rounding: GGMLType
    let columns: Int
    let rowBytes: Int

    init(weight: GGMLType, precision: ActivationPrecision, columns: Int) {
        let paired = DotProducts.activationType(for: weight, precision: precision)
        switch paired {
        case .q8_0, .q8_1:
            type = paired
            rounding = .f32
        default:
            type = .f32
            rounding = paired
        }
        self.columns = columns
        self.rowBytes = type.rowBytes(columns)
    }

    /// Bytes of scratch `prepare` needs; 0 when the kernels can read `x` directly.
    func scratchBytes(tokens: Int) -> Int {
        type == .f32 && rounding == .f32 ? 0 : rowBytes * tokens
    }

    /// Returns the activations in this layout: `x` itself, or rounded copies written to `scratch`.
    func prepare(_ x: UnsafePointer<Float>, tokens: Int, scratch: UnsafeMutableRawPointer) -> UnsafeRawPointer {
        if scratchBytes(tokens: tokens) == 0 { return UnsafeRawPointer(x) }
        for t in 0..<tokens {
            let source = x + t * columns
            let out = scratch + t * rowBytes
            switch type {
            case .q8_0:
                Kernels.quantizeRowQ8_0(source, count: columns, into: out)
            case .q8_1:
                Kernels.quantizeRowQ8_1(source, count: columns, into: out)
            default:
                let floats = out.assumingMemoryBound(to: Float.self)
                for i in 0..<columns {
                    floats[i] =
                        rounding == .f16
                        ? Float(Float16(source[i])) : HalfFloat.bf16ToFloat(HalfFloat.floatToBF16(source[i]))
                }
            }
        }
        return UnsafeRawPointer(scratch)
    }
}
