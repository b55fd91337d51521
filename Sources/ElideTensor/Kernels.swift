#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Numerical kernels over raw float buffers.
///
/// Callers own every buffer. Only `rope(_:heads:headDim:position:base:)` takes temporary space, on the stack.
public enum Kernels {
    /// `into = x / sqrt(mean(x²) + epsilon) × weight`, computed as ggml's `rms_norm` followed by `mul`:
    /// the sum of squares accumulates in Double, the scale is a Float.
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, count: Int, epsilon: Float,
        into: UnsafeMutablePointer<Float>
    ) {
        var sum: Double = 0
        for i in 0..<count {
            sum += Double(x[i] * x[i])
        }
        let mean = Float(sum / Double(count))
        let scale = 1 / sqrtf(mean + epsilon)
        for j in 0..<count {
            into[j] = (x[j] * scale) * weight[j]
        }
    }

    /// Rotary position embedding in llama.cpp's normal mode (`LLAMA_ROPE_TYPE_NORM`, used for the
    /// `llama` architecture): within each head of `headDim` floats, the pair `(x[2i], x[2i+1])` turns
    /// by `position × base^(−2i / headDim)`.
    ///
    /// The angles follow ggml's `ggml_rope_cache_init`: `theta` starts at `position` and is multiplied
    /// by `base^(−2 / headDim)` in Float for each pair, and the cosine and sine are Float functions.
    public static func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int, base: Float) {
        precondition(headDim % 2 == 0, "RoPE needs an even head dimension, got \(headDim)")
        withUnsafeTemporaryAllocation(of: Float.self, capacity: headDim) { table in
            ropeTable(position: position, base: base, headDim: headDim, into: table.baseAddress!)
            rope(x, heads: heads, headDim: headDim, table: table.baseAddress!)
        }
    }

    /// RoPE with angles already computed by `ropeTable` (reuse one table for the query and key heads
    /// of every layer at the same position).
    public static func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, table: UnsafePointer<Float>) {
        for head in 0..<heads {
            let v = x + head * headDim
            for i in 0..<headDim / 2 {
                let c = table[2 * i]
                let s = table[2 * i + 1]
                let x0 = v[2 * i]
                let x1 = v[2 * i + 1]
                v[2 * i] = x0 * c - x1 * s
                v[2 * i + 1] = x0 * s + x1 * c
            }
        }
    }

    /// Fills `into[2i]` with the cosine and `into[2i+1]` with the sine of pair `i`'s angle, `headDim`
    /// floats in all.
    public static func ropeTable(position: Int, base: Float, headDim: Int, into: UnsafeMutablePointer<Float>) {
        let step = powf(base, -2 / Float(headDim))
        var theta = Float(position)
        for i in 0..<headDim / 2 {
            into[2 * i] = cosf(theta)
            into[2 * i + 1] = sinf(theta)
            theta *= step
        }
    }

    /// Replaces `x` by its softmax, `exp(x[i] − max) / Σ exp(x[j] − max)`, summing in Double.
    /// Entries equal to `-infinity` (masked positions) become 0.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        var maximum = -Float.infinity
        for i in 0..<count { maximum = max(maximum, x[i]) }
        var sum: Double = 0
        var i = 0
        #if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
            let shift = SIMD8<Float>(repeating: maximum)
            while i + 8 <= count {
                let e = AVX2Kernels.exp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - shift)
                UnsafeMutableRawPointer(x + i).storeBytes(of: e, as: SIMD8<Float>.self)
                sum += Double(e.sum())
                i += 8
            }
        #endif
        while i < count {
            let e = expf(x[i] - maximum)
            x[i] = e
            sum += Double(e)
            i += 1
        }
        let scale = Float(1 / sum)
        for j in 0..<count { x[j] *= scale }
    }

    /// In-place SiLU: `x = x / (1 + exp(−x))`.
    public static func silu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        #if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
            while i + 8 <= count {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(x + i).storeBytes(of: AVX2Kernels.silu(v), as: SIMD8<Float>.self)
                i += 8
            }
        #endif
        while i < count {
            x[i] = x[i] / (1 + expf(-x[i]))
            i += 1
        }
    }

    /// SwiGLU gate: `gate = silu(gate) × up`.
    public static func swiglu(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        var i = 0
        #if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
            while i + 8 <= count {
                let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD8<Float>.self)
                let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(gate + i).storeBytes(of: AVX2Kernels.silu(g) * u, as: SIMD8<Float>.self)
                i += 8
            }
        #endif
        while i < count {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
            i += 1
        }
    }

    /// Returns `Σ a[i] × b[i]`, accumulated in 32 Float lanes of fused multiply-adds.
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD16<Float>()
        var acc1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= count {
            acc0.addProduct(loadVector(a + i), loadVector(b + i))
            acc1.addProduct(loadVector(a + i + 16), loadVector(b + i + 16))
            i += 32
        }
        while i + 16 <= count {
            acc0.addProduct(loadVector(a + i), loadVector(b + i))
            i += 16
        }
        var sum = (acc0 + acc1).sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// `y += alpha × x`.
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let a = SIMD16<Float>(repeating: alpha)
        while i + 16 <= count {
            var v: SIMD16<Float> = loadVector(y + i)
            v.addProduct(a, loadVector(x + i))
            storeVector(v, y + i)
            i += 16
        }
        while i < count {
            y[i] += alpha * x[i]
            i += 1
        }
    }

    /// `x *= alpha`.
    public static func scale(_ x: UnsafeMutablePointer<Float>, by alpha: Float, count: Int) {
        for i in 0..<count { x[i] *= alpha }
    }

    /// `y += x`.
    public static func add(_ x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }

    @inline(__always)
    static func loadVector(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func loadVector(_ p: UnsafeMutablePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func storeVector(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }
}
