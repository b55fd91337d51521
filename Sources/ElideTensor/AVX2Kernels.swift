#if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
    import _Builtin_intrinsics.intel

    /// AVX2/FMA/F16C kernels (the package compiles this module with `-target-cpu haswell`).
    ///
    /// The intrinsics come from Clang's `immintrin.h` through the `_Builtin_intrinsics.intel` module.
    /// Swift cannot import the intrinsics that Clang defines as macros (those taking an immediate), so
    /// the code uses function forms or Swift SIMD operations instead.
    ///
    /// Each product kernel computes four weight rows against one activation row at a time, so every
    /// activation block is loaded once per four rows. The integer products follow llama.cpp's AVX2
    /// `ggml_vec_dot_*` functions block for block: `vpmaddubsw` + `vpmaddwd` per block, the block's
    /// two F16 scales multiplied in Float, and eight Float lanes of fused multiply-adds.
    enum AVX2Kernels {
        typealias Rows = (UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer)

        // MARK: Helpers

        @inline(__always)
        static func f16(_ p: UnsafeRawPointer, _ offset: Int = 0) -> Float {
            Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        }

        /// 16 bytes of nibbles → 32 bytes in 0...15: low nibbles (elements 0–15) in the low half,
        /// high nibbles (elements 16–31) in the high half.
        @inline(__always)
        static func nibbles(_ p: UnsafeRawPointer) -> __m256i {
            let packed = p.loadUnaligned(as: __m128i.self)
            return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0f))
        }

        @inline(__always)
        static func load256(_ p: UnsafeRawPointer) -> __m256i {
            p.loadUnaligned(as: __m256i.self)
        }

        /// Σ of adjacent pairs of `unsigned × signed` byte products, as 8 Float lanes.
        @inline(__always)
        static func mulSumUnsignedSigned(_ unsigned: __m256i, _ signed: __m256i) -> __m256 {
            _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(unsigned, signed), _mm256_set1_epi16(1)))
        }

        /// Σ of adjacent pairs of `signed × signed` byte products, as 8 Float lanes.
        @inline(__always)
        static func mulSumSigned(_ x: __m256i, _ y: __m256i) -> __m256 {
            mulSumUnsignedSigned(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x))
        }

        @inline(__always)
        static func horizontalSum(_ v: __m256) -> Float {
            let quad = v.lowHalf + v.highHalf
            let pair = quad.lowHalf + quad.highHalf
            return pair[0] + pair[1]
        }

        @inline(__always)
        static func fma(_ a: Float, _ b: __m256, _ c: __m256) -> __m256 {
            _mm256_fmadd_ps(_mm256_set1_ps(a), b, c)
        }

        @inline(__always)
        static func sums(_ a0: __m256, _ a1: __m256, _ a2: __m256, _ a3: __m256) -> SIMD4<Float> {
            SIMD4(horizontalSum(a0), horizontalSum(a1), horizontalSum(a2), horizontalSum(a3))
        }

        // MARK: Rounded activations (`ActivationPrecision.q8`)

        /// Converts the four F16 values in the first 8 bytes at `p` to Float lanes (`vcvtph2ps` from memory).
        @inline(__always)
        static func halves(_ p: UnsafeRawPointer) -> __m128 {
            _mm_cvtph_ps(_mm_set_epi64x(0, p.loadUnaligned(as: Int64.self)))
        }

        /// 16 bytes of nibbles → 32 bytes in 0...15, like `nibbles`, but built from a 128-bit broadcast
        /// load and a per-lane shift, which keeps the work off the shuffle port.
        @inline(__always)
        static func nibblesBroadcast(_ p: UnsafeRawPointer, _ shifts: __m256i, _ mask: __m256i) -> __m256i {
            _mm256_and_si256(
                _mm256_srlv_epi32(_mm256_broadcastsi128_si256(p.loadUnaligned(as: __m128i.self)), shifts), mask)
        }

        /// Four rows of Q4_1 weights against one row of Q8_1 activations (`ggml_vec_dot_q4_1_q8_1`).
        ///
        /// Per block and row: `[d, m]` are converted together; lane 0 of `[d, m] × [dy, s]` is the
        /// block scale and lane 1 the minimum's term, which accumulates in a vector lane.
        @inline(__always)
        static func q4_1(_ w: Rows, _ a: UnsafeRawPointer, blocks: Int) -> SIMD4<Float> {
            var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
            var min0 = _mm_setzero_ps(), min1 = min0, min2 = min0, min3 = min0
            let shifts = _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)
            let mask = _mm256_set1_epi8(0x0f)
            let firstTwo = _mm_castsi128_ps(_mm_setr_epi32(-1, -1, 0, 0))
            for block in 0..<blocks {
                let ab = a + block * 36
                let dy = _mm_and_ps(halves(ab), firstTwo)
                let qy = load256(ab + 4)
                let o = block * 20
                let w0 = w.0 + o, w1 = w.1 + o, w2 = w.2 + o, w3 = w.3 + o
                let s0 = _mm_mul_ps(halves(w0), dy)
                let s1 = _mm_mul_ps(halves(w1), dy)
                let s2 = _mm_mul_ps(halves(w2), dy)
                let s3 = _mm_mul_ps(halves(w3), dy)
                min0 = _mm_add_ps(min0, s0)
                min1 = _mm_add_ps(min1, s1)
                min2 = _mm_add_ps(min2, s2)
                min3 = _mm_add_ps(min3, s3)
                acc0 = _mm256_fmadd_ps(
                    _mm256_broadcastss_ps(s0), mulSumUnsignedSigned(nibblesBroadcast(w0 + 4, shifts, mask), qy), acc0)
                acc1 = _mm256_fmadd_ps(
                    _mm256_broadcastss_ps(s1), mulSumUnsignedSigned(nibblesBroadcast(w1 + 4, shifts, mask), qy), acc1)
                acc2 = _mm256_fmadd_ps(
                    _mm256_broadcastss_ps(s2), mulSumUnsignedSigned(nibblesBroadcast(w2 + 4, shifts, mask), qy), acc2)
                acc3 = _mm256_fmadd_ps(
                    _mm256_broadcastss_ps(s3), mulSumUnsignedSigned(nibblesBroadcast(w3 + 4, shifts, mask), qy), acc3)
            }
            let minimums = SIMD4<Float>(min0[1], min1[1], min2[1], min3[1])
            return sums(acc0, acc1, acc2, acc3) + minimums
        }

        /// Four rows of Q4_0 weights against one row of Q8_0 activations (`ggml_vec_dot_q4_0_q8_0`).
        @inline(__always)
        static func q4_0(_ w: Rows, _ a: UnsafeRawPointer, blocks: Int) -> SIMD4<Float> {
            var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
            let shifts = _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)
            let mask = _mm256_set1_epi8(0x0f)
            let eight = _mm256_set1_epi8(8)
            let first = _mm_castsi128_ps(_mm_setr_epi32(-1, 0, 0, 0))
            for block in 0..<blocks {
                let ab = a + block * 34
                let dy = _mm_and_ps(halves(ab), first)
                let qy = load256(ab + 2)
                let o = block * 18
                let w0 = w.0 + o, w1 = w.1 + o, w2 = w.2 + o, w3 = w.3 + o
                let q0 = _mm256_sub_epi8(nibblesBroadcast(w0 + 2, shifts, mask), eight)
                let q1 = _mm256_sub_epi8(nibblesBroadcast(w1 + 2, shifts, mask), eight)
                let q2 = _mm256_sub_epi8(nibblesBroadcast(w2 + 2, shifts, mask), eight)
                let q3 = _mm256_sub_epi8(nibblesBroadcast(w3 + 2, shifts, mask), eight)
                acc0 = _mm256_fmadd_ps(_mm256_broadcastss_ps(_mm_mul_ps(halves(w0), dy)), mulSumSigned(q0, qy), acc0)
                acc1 = _mm256_fmadd_ps(_mm256_broadcastss_ps(_mm_mul_ps(halves(w1), dy)), mulSumSigned(q1, qy), acc1)
                acc2 = _mm256_fmadd_ps(_mm256_broadcastss_ps(_mm_mul_ps(halves(w2), dy)), mulSumSigned(q2, qy), acc2)
                acc3 = _mm256_fmadd_ps(_mm256_broadcastss_ps(_mm_mul_ps(halves(w3), dy)), mulSumSigned(q3, qy), acc3)
            }
            return sums(acc0, acc1, acc2, acc3)
        }

        /// Four rows of Q8_0 weights against one row of Q8_0 activations (`ggml_vec_dot_q8_0_q8_0`).
        @inline(__always)
        static func q8_0(_ w: Rows, _ a: UnsafeRawPointer, blocks: Int) -> SIMD4<Float> {
            var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
            let first = _mm_castsi128_ps(_mm_setr_epi32(-1, 0, 0, 0))
            for block in 0..<blocks {
                let ab = a + block * 34
                let dy = _mm_and_ps(halves(ab), first)
                let qy = load256(ab + 2)
                let o = block * 34
                let w0 = w.0 + o, w1 = w.1 + o, w2 = w.2 + o, w3 = w.3 + o
                acc0 = _mm256_fmadd_ps(
                    _mm256_broadcastss_ps(_mm_mul_ps(halves(w0), dy)), mulSumSigned(load256(w0 + 2), qy), acc0)
                acc1 = _mm256_fmadd_ps(
                    _mm256_broadcastss_ps(_mm_mul_ps(halves(w1), dy)), mulSumSigned(load256(w1 + 2), qy), acc1)
                acc2 = _mm256_fmadd_ps(
                    _mm256_broadcastss_ps(_mm_mul_ps(halves(w2), dy)), mulSumSigned(load256(w2 + 2), qy), acc2)
                acc3 = _mm256_fmadd_ps(
                    _mm256_broadcastss_ps(_mm_mul_ps(halves(w3), dy)), mulSumSigned(load256(w3 + 2), qy), acc3)
            }
            return sums(acc0, acc1, acc2, acc3)
        }

        // MARK: Float activations (`ActivationPrecision.f32`, and F16/BF16 weights at `.q8`)

        /// Eight bytes starting at byte `start` of `v`, widened to Float.
        @inline(__always)
        static func unsignedBytesToFloat(_ v: __m128i) -> __m256 {
            _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v))
        }

        @inline(__always)
        static func signedBytesToFloat(_ v: __m128i) -> __m256 {
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v))
        }

        @inline(__always)
        static func loadBlock(_ x: UnsafePointer<Float>) -> (__m256, __m256, __m256, __m256) {
            (_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8), _mm256_loadu_ps(x + 16), _mm256_loadu_ps(x + 24))
        }

        /// Eight bytes at `p` widened to Int32 lanes (`vpmovzxbd` from memory).
        @inline(__always)
        static func widenUnsigned(_ p: UnsafeRawPointer) -> __m256i {
            _mm256_cvtepu8_epi32(_mm_set_epi64x(0, p.loadUnaligned(as: Int64.self)))
        }

        /// Eight signed bytes at `p` widened to Int32 lanes (`vpmovsxbd` from memory).
        @inline(__always)
        static func widenSigned(_ p: UnsafeRawPointer) -> __m256i {
            _mm256_cvtepi8_epi32(_mm_set_epi64x(0, p.loadUnaligned(as: Int64.self)))
        }

        /// Loads one block's activations for the nibble kernels: elements 0–15 as they are, elements
        /// 16–31 divided by 16 (exact), and the lane-wise sum of all 32.
        @inline(__always)
        static func nibbleBlock(_ x: UnsafePointer<Float>) -> (__m256, __m256, __m256, __m256, sum: __m256) {
            let sixteenth = _mm256_set1_ps(1.0 / 16)
            let x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8)
            let x2 = _mm256_loadu_ps(x + 16), x3 = _mm256_loadu_ps(x + 24)
            let sum = _mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3))
            return (x0, x1, _mm256_mul_ps(x2, sixteenth), _mm256_mul_ps(x3, sixteenth), sum)
        }

        /// `Σ q·x` over one block of nibbles at `p` (16 bytes), with `x` from `nibbleBlock`. The high
        /// nibbles are masked in place (worth 16·q), which the pre-divided activations undo.
        @inline(__always)
        static func nibbleDot(_ p: UnsafeRawPointer, _ x: (__m256, __m256, __m256, __m256, sum: __m256)) -> __m256 {
            let low = _mm256_set1_epi32(0x0f)
            let high = _mm256_set1_epi32(0xf0)
            let first = widenUnsigned(p)
            let second = widenUnsigned(p + 8)
            var s = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_and_si256(first, low)), x.0)
            s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_and_si256(second, low)), x.1, s)
            s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_and_si256(first, high)), x.2, s)
            return _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_and_si256(second, high)), x.3, s)
        }

        /// Adds one row's block to `acc`: `d·Σq·x + m·Σx`, with `[d, m]` in lanes 0 and 1 of `scales`.
        @inline(__always)
        static func accumulateNibbles(
            _ acc: __m256, _ scales: __m128, _ quants: UnsafeRawPointer,
            _ x: (__m256, __m256, __m256, __m256, sum: __m256)
        ) -> __m256 {
            let wide = _mm256_castps128_ps256(scales)
            let d = _mm256_permutevar8x32_ps(wide, _mm256_setzero_si256())
            let m = _mm256_permutevar8x32_ps(wide, _mm256_set1_epi32(1))
            return _mm256_fmadd_ps(d, nibbleDot(quants, x), _mm256_fmadd_ps(m, x.sum, acc))
        }

        /// Four rows of Q4_1 weights against Float activations: per block `d·Σq·x + m·Σx`.
        @inline(__always)
        static func q4_1(_ w: Rows, floats x: UnsafePointer<Float>, blocks: Int) -> SIMD4<Float> {
            var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
            for block in 0..<blocks {
                let xb = nibbleBlock(x + block * 32)
                let o = block * 20
                let w0 = w.0 + o, w1 = w.1 + o, w2 = w.2 + o, w3 = w.3 + o
                acc0 = accumulateNibbles(acc0, halves(w0), w0 + 4, xb)
                acc1 = accumulateNibbles(acc1, halves(w1), w1 + 4, xb)
                acc2 = accumulateNibbles(acc2, halves(w2), w2 + 4, xb)
                acc3 = accumulateNibbles(acc3, halves(w3), w3 + 4, xb)
            }
            return sums(acc0, acc1, acc2, acc3)
        }

        /// Four rows of Q4_0 weights against Float activations, computed as Q4_1 with `m = −8·d`.
        @inline(__always)
        static func q4_0(_ w: Rows, floats x: UnsafePointer<Float>, blocks: Int) -> SIMD4<Float> {
            var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
            // [d, ·, ·, ·] × [1, −8, ·, ·] after duplicating d into lane 1.
            let offset = _mm_setr_ps(1, -8, 0, 0)
            for block in 0..<blocks {
                let xb = nibbleBlock(x + block * 32)
                let o = block * 18
                let w0 = w.0 + o, w1 = w.1 + o, w2 = w.2 + o, w3 = w.3 + o
                acc0 = accumulateNibbles(acc0, _mm_mul_ps(_mm_moveldup_ps(halves(w0)), offset), w0 + 2, xb)
                acc1 = accumulateNibbles(acc1, _mm_mul_ps(_mm_moveldup_ps(halves(w1)), offset), w1 + 2, xb)
                acc2 = accumulateNibbles(acc2, _mm_mul_ps(_mm_moveldup_ps(halves(w2)), offset), w2 + 2, xb)
                acc3 = accumulateNibbles(acc3, _mm_mul_ps(_mm_moveldup_ps(halves(w3)), offset), w3 + 2, xb)
            }
            return sums(acc0, acc1, acc2, acc3)
        }

        /// `Σ q·x` over the 32 signed bytes at `p`.
        @inline(__always)
        static func byteDot(_ p: UnsafeRawPointer, _ x: (__m256, __m256, __m256, __m256)) -> __m256 {
            var s = _mm256_mul_ps(_mm256_cvtepi32_ps(widenSigned(p)), x.0)
            s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(widenSigned(p + 8)), x.1, s)
            s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(widenSigned(p + 16)), x.2, s)
            return _mm256_fmadd_ps(_mm256_cvtepi32_ps(widenSigned(p + 24)), x.3, s)
        }

        /// Four rows of Q8_0 weights against Float activations.
        @inline(__always)
        static func q8_0(_ w: Rows, floats x: UnsafePointer<Float>, blocks: Int) -> SIMD4<Float> {
            var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
            for block in 0..<blocks {
                let xb = loadBlock(x + block * 32)
                let o = block * 34
                let w0 = w.0 + o, w1 = w.1 + o, w2 = w.2 + o, w3 = w.3 + o
                acc0 = _mm256_fmadd_ps(_mm256_broadcastss_ps(halves(w0)), byteDot(w0 + 2, xb), acc0)
                acc1 = _mm256_fmadd_ps(_mm256_broadcastss_ps(halves(w1)), byteDot(w1 + 2, xb), acc1)
                acc2 = _mm256_fmadd_ps(_mm256_broadcastss_ps(halves(w2)), byteDot(w2 + 2, xb), acc2)
                acc3 = _mm256_fmadd_ps(_mm256_broadcastss_ps(halves(w3)), byteDot(w3 + 2, xb), acc3)
            }
            return sums(acc0, acc1, acc2, acc3)
        }

        /// Four rows of F16 weights against Float activations; `count` is a multiple of 8.
        @inline(__always)
        static func f16(_ w: Rows, floats x: UnsafePointer<Float>, count: Int) -> SIMD4<Float> {
            var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
            var i = 0
            while i < count {
                let xv = _mm256_loadu_ps(x + i)
                let o = 2 * i
                acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps((w.0 + o).loadUnaligned(as: __m128i.self)), xv, acc0)
                acc1 = _mm256_fmadd_ps(_mm256_cvtph_ps((w.1 + o).loadUnaligned(as: __m128i.self)), xv, acc1)
                acc2 = _mm256_fmadd_ps(_mm256_cvtph_ps((w.2 + o).loadUnaligned(as: __m128i.self)), xv, acc2)
                acc3 = _mm256_fmadd_ps(_mm256_cvtph_ps((w.3 + o).loadUnaligned(as: __m128i.self)), xv, acc3)
                i += 8
            }
            return sums(acc0, acc1, acc2, acc3)
        }

        @inline(__always)
        static func bf16Vector(_ p: UnsafeRawPointer) -> __m256 {
            _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(p.loadUnaligned(as: __m128i.self)), 16))
        }

        /// Four rows of BF16 weights against Float activations; `count` is a multiple of 8.
        @inline(__always)
        static func bf16(_ w: Rows, floats x: UnsafePointer<Float>, count: Int) -> SIMD4<Float> {
            var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
            var i = 0
            while i < count {
                let xv = _mm256_loadu_ps(x + i)
                let o = 2 * i
                acc0 = _mm256_fmadd_ps(bf16Vector(w.0 + o), xv, acc0)
                acc1 = _mm256_fmadd_ps(bf16Vector(w.1 + o), xv, acc1)
                acc2 = _mm256_fmadd_ps(bf16Vector(w.2 + o), xv, acc2)
                acc3 = _mm256_fmadd_ps(bf16Vector(w.3 + o), xv, acc3)
                i += 8
            }
            return sums(acc0, acc1, acc2, acc3)
        }

        /// Four rows of F32 weights against Float activations; `count` is a multiple of 8.
        @inline(__always)
        static func f32(_ w: Rows, floats x: UnsafePointer<Float>, count: Int) -> SIMD4<Float> {
            var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
            var i = 0
            while i < count {
                let xv = _mm256_loadu_ps(x + i)
                let o = 4 * i
                acc0 = _mm256_fmadd_ps((w.0 + o).loadUnaligned(as: __m256.self), xv, acc0)
                acc1 = _mm256_fmadd_ps((w.1 + o).loadUnaligned(as: __m256.self), xv, acc1)
                acc2 = _mm256_fmadd_ps((w.2 + o).loadUnaligned(as: __m256.self), xv, acc2)
                acc3 = _mm256_fmadd_ps((w.3 + o).loadUnaligned(as: __m256.self), xv, acc3)
                i += 8
            }
            return sums(acc0, acc1, acc2, acc3)
        }

        // MARK: Element-wise functions

        /// `e^x` in 8 lanes: `x = n·ln2 + r` with `|r| ≤ ln2/2`, a degree-6 polynomial for `e^r` (the
        /// Cephes `expf` coefficients, about 1 ulp) and `2^n` built in the exponent bits. Inputs below
        /// −87.3 give 0 (so `-infinity` gives 0), inputs above 88.7 give `e^88.7`.
        @inline(__always)
        static func exp(_ x: __m256) -> __m256 {
            let clamped = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3)), _mm256_set1_ps(88.7))
            let n = _mm256_cvtps_epi32(_mm256_mul_ps(clamped, _mm256_set1_ps(1.442_695_04)))
            let nf = _mm256_cvtepi32_ps(n)
            var r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(0.693_359_375), clamped)
            r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(-2.121_944_4e-4), r)
            var p = _mm256_set1_ps(1.987_569_15e-4)
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.398_199_950_7e-3))
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.333_451_907_3e-3))
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.166_579_589_4e-2))
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.666_666_545_9e-1))
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.000_000_120_1e-1))
            let er = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1))
            let scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23))
            return _mm256_mul_ps(er, scale).replacing(with: 0, where: x .< -87.3)
        }

        /// `x / (1 + e^−x)` in 8 lanes.
        @inline(__always)
        static func silu(_ x: __m256) -> __m256 {
            _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1), exp(_mm256_sub_ps(_mm256_setzero_ps(), x))))
        }

        // MARK: Expanding rows to Float

        /// Writes the 32 values of a block given as bytes (`lowHalf` = elements 0–15) scaled by `d`
        /// and offset by `m`.
        @inline(__always)
        static func storeBlock(_ bytes: __m256i, signed: Bool, d: Float, m: Float, _ out: UnsafeMutablePointer<Float>) {
            let low = bytes.lowHalf
            let high = bytes.highHalf
            let convert = signed ? signedBytesToFloat : unsignedBytesToFloat
            let dv = _mm256_set1_ps(d)
            let mv = _mm256_set1_ps(m)
            _mm256_storeu_ps(out, _mm256_fmadd_ps(convert(low), dv, mv))
            _mm256_storeu_ps(out + 8, _mm256_fmadd_ps(convert(_mm_unpackhi_epi64(low, low)), dv, mv))
            _mm256_storeu_ps(out + 16, _mm256_fmadd_ps(convert(high), dv, mv))
            _mm256_storeu_ps(out + 24, _mm256_fmadd_ps(convert(_mm_unpackhi_epi64(high, high)), dv, mv))
        }

        /// Expands `count` elements of `type` to Float; returns false for types it does not handle.
        static func dequantize(
            _ type: GGMLType, _ source: UnsafeRawPointer, count: Int, into: UnsafeMutablePointer<Float>
        ) -> Bool {
            switch type {
            case .q4_1:
                for block in 0..<count / 32 {
                    let b = source + block * 20
                    storeBlock(nibbles(b + 4), signed: false, d: f16(b), m: f16(b, 2), into + block * 32)
                }
            case .q4_0:
                let eight = _mm256_set1_epi8(8)
                for block in 0..<count / 32 {
                    let b = source + block * 18
                    storeBlock(_mm256_sub_epi8(nibbles(b + 2), eight), signed: true, d: f16(b), m: 0, into + block * 32)
                }
            case .q8_0:
                for block in 0..<count / 32 {
                    let b = source + block * 34
                    storeBlock(load256(b + 2), signed: true, d: f16(b), m: 0, into + block * 32)
                }
            case .f16 where count % 8 == 0:
                for i in stride(from: 0, to: count, by: 8) {
                    _mm256_storeu_ps(into + i, _mm256_cvtph_ps((source + 2 * i).loadUnaligned(as: __m128i.self)))
                }
            case .bf16 where count % 8 == 0:
                for i in stride(from: 0, to: count, by: 8) {
                    _mm256_storeu_ps(into + i, bf16Vector(source + 2 * i))
                }
            default:
                return false
            }
            return true
        }

        // MARK: Activation rounding

        /// Rounds one block as llama.cpp's AVX2 `quantize_row_q8_0` and `quantize_row_q8_1` do
        /// (ggml/src/ggml-cpu/arch/x86/quants.c). Stores `d` (F16) at `out` and the 32 quants at
        /// `out + quantOffset`, and returns `(d, Σq)`.
        @inline(__always)
        static func quantizeBlock(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, quantOffset: Int) -> (
            Float, Int32
        ) {
            let v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8)
            let v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24)
            let sign = _mm256_set1_ps(-0.0)
            var maxAbs = _mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1))
            maxAbs = _mm256_max_ps(maxAbs, _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)))
            let m4 = pointwiseMax(maxAbs.lowHalf, maxAbs.highHalf)
            let m2 = pointwiseMax(m4.lowHalf, m4.highHalf)
            let maxScalar = max(m2[0], m2[1])
            let d = maxScalar / 127
            let scale = _mm256_set1_ps(maxScalar != 0 ? 127 / maxScalar : 0)
            // vcvtps2dq rounds half to even under the default MXCSR, as llama.cpp's
            // _mm256_round_ps(…, _MM_ROUND_NEAREST) followed by the same conversion does.
            let i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, scale))
            let i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, scale))
            let i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, scale))
            let i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, scale))
            let total = unsafeBitCast(
                _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)), to: SIMD8<Int32>.self
            ).wrappedSum()
            let packed = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3))
            let ordered = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
            (out + quantOffset).storeBytes(of: ordered, as: __m256i.self)
            out.storeBytes(of: Float16(d).bitPattern, as: UInt16.self)
            return (d, total)
        }

        static func quantizeRowQ8_0(_ x: UnsafePointer<Float>, count: Int, into: UnsafeMutableRawPointer) {
            for block in 0..<count / 32 {
                _ = quantizeBlock(x + block * 32, into + block * 34, quantOffset: 2)
            }
        }

        static func quantizeRowQ8_1(_ x: UnsafePointer<Float>, count: Int, into: UnsafeMutableRawPointer) {
            for block in 0..<count / 32 {
                let out = into + block * 36
                let (d, total) = quantizeBlock(x + block * 32, out, quantOffset: 4)
                out.storeBytes(of: Float16(d * Float(total)).bitPattern, toByteOffset: 2, as: UInt16.self)
            }
        }
    }
#endif
