/// Byte layouts of ggml's 32-element blocks, and plain conversions between them and floats.
///
/// Every block starts with an F16 scale `d`:
/// - Q4_0 (18 bytes): `d`, then 16 bytes of nibbles; element `j` is the low nibble of byte `j` and
///   element `j + 16` the high nibble; value = `d × (q − 8)`.
/// - Q4_1 (20 bytes): `d`, F16 minimum `m`, 16 bytes of nibbles laid out as in Q4_0; value = `d × q + m`.
/// - Q8_0 (34 bytes): `d`, 32 signed bytes; value = `d × q`.
/// - Q8_1 (36 bytes): `d`, F16 `s = d × Σq`, 32 signed bytes; value = `d × q`.
enum BlockCodec {
    static let blockSize = 32

    /// Expands `count` elements of `type` at `source` into floats.
    static func dequantize(_ type: GGMLType, _ source: UnsafeRawPointer, count: Int, into: UnsafeMutablePointer<Float>)
    {
        #if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
            if AVX2Kernels.dequantize(type, source, count: count, into: into) { return }
        #endif
        dequantizePortable(type, source, count: count, into: into)
    }

    static func dequantizePortable(
        _ type: GGMLType, _ source: UnsafeRawPointer, count: Int, into: UnsafeMutablePointer<Float>
    ) {
        switch type {
        case .f32:
            into.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            for i in 0..<count {
                into[i] = HalfFloat.f16ToFloat(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
        case .bf16:
            for i in 0..<count {
                into[i] = HalfFloat.bf16ToFloat(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
        case .q4_0:
            for block in 0..<count / blockSize {
                let base = source + block * 18
                let d = HalfFloat.loadF16(base, 0)
                let out = into + block * blockSize
                for j in 0..<16 {
                    let byte = base.load(fromByteOffset: 2 + j, as: UInt8.self)
                    out[j] = d * Float(Int32(byte & 0x0f) - 8)
                    out[j + 16] = d * Float(Int32(byte >> 4) - 8)
                }
            }
        case .q4_1:
            for block in 0..<count / blockSize {
                let base = source + block * 20
                let d = HalfFloat.loadF16(base, 0)
                let m = HalfFloat.loadF16(base, 2)
                let out = into + block * blockSize
                for j in 0..<16 {
                    let byte = base.load(fromByteOffset: 4 + j, as: UInt8.self)
                    out[j] = d * Float(byte & 0x0f) + m
                    out[j + 16] = d * Float(byte >> 4) + m
                }
            }
        case .q8_0, .q8_1:
            let bytes = type.blockBytes
            let header = bytes - blockSize
            for block in 0..<count / blockSize {
                let base = source + block * bytes
                let d = HalfFloat.loadF16(base, 0)
                let out = into + block * blockSize
                for j in 0..<blockSize {
                    out[j] = d * Float(base.load(fromByteOffset: header + j, as: Int8.self))
                }
            }
        }
    }

    /// The largest absolute value among `count` floats.
    @inline(__always)
    static func maxAbsolute(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
        var result: Float = 0
        for j in 0..<count { result = max(result, abs(x[j])) }
        return result
    }

    /// Rounds one block the way llama.cpp's AVX2 `quantize_row_q8_0`/`q8_1` do: scale by
    /// `127 / max|x|` in float, round half to even, and store `d = max|x| / 127` as F16.
    /// Returns `(d, Σq)`.
    @inline(__always)
    static func quantizeBlock8(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) -> (Float, Int32) {
        let maxAbs = maxAbsolute(x, blockSize)
        let d = maxAbs / 127
        let scale: Float = maxAbs != 0 ? 127 / maxAbs : 0
        var sum: Int32 = 0
        for j in 0..<blockSize {
            let q = Int32((x[j] * scale).rounded(.toNearestOrEven))
            sum &+= q
            out.storeBytes(of: Int8(truncatingIfNeeded: q), toByteOffset: j, as: Int8.self)
        }
        return (d, sum)
    }

    static func quantizeRowQ8_0(_ x: UnsafePointer<Float>, count: Int, into: UnsafeMutableRawPointer) {
        for block in 0..<count / blockSize {
            let out = into + block * 34
            let (d, _) = quantizeBlock8(x + block * blockSize, out + 2)
            HalfFloat.storeF16(d, out, 0)
        }
    }

    static func quantizeRowQ8_1(_ x: UnsafePointer<Float>, count: Int, into: UnsafeMutableRawPointer) {
        for block in 0..<count / blockSize {
            let out = into + block * 36
            let (d, sum) = quantizeBlock8(x + block * blockSize, out + 4)
            HalfFloat.storeF16(d, out, 0)
            HalfFloat.storeF16(d * Float(sum), out, 2)
        }
    }

    /// C's `(int)` conversion of a value known to lie in a small range; NaN becomes 0.
    @inline(__always)
    static func truncateToInt(_ value: Float) -> Int32 {
        value.isNaN ? 0 : Int32(max(-1e9, min(1e9, value)))
    }

    /// llama.cpp's `quantize_row_q8_0_ref`: `d = max|x| / 127`, `q = round(x / d)` with ties away
    /// from zero. This is how `llama-quantize` writes Q8_0 weights.
    static func quantizeRowQ8_0Reference(_ x: UnsafePointer<Float>, count: Int, into: UnsafeMutableRawPointer) {
        for block in 0..<count / blockSize {
            let source = x + block * blockSize
            let out = into + block * 34
            let d = maxAbsolute(source, blockSize) / 127
            let inverse: Float = d != 0 ? 1 / d : 0
            HalfFloat.storeF16(d, out, 0)
            for j in 0..<blockSize {
                let q = Int32((source[j] * inverse).rounded(.toNearestOrAwayFromZero))
                out.storeBytes(of: Int8(clamping: q), toByteOffset: 2 + j, as: Int8.self)
            }
        }
    }

    /// llama.cpp's `quantize_row_q4_0_ref`: the element of largest magnitude maps to −8.
    static func quantizeRowQ4_0(_ x: UnsafePointer<Float>, count: Int, into: UnsafeMutableRawPointer) {
        for block in 0..<count / blockSize {
            let source = x + block * blockSize
            let out = into + block * 18
            var maxAbs: Float = 0
            var extreme: Float = 0
            for j in 0..<blockSize where maxAbs < abs(source[j]) {
                maxAbs = abs(source[j])
                extreme = source[j]
            }
            let d = extreme / -8
            let inverse: Float = d != 0 ? 1 / d : 0
            HalfFloat.storeF16(d, out, 0)
            for j in 0..<16 {
                let low = min(15, truncateToInt(source[j] * inverse + 8.5))
                let high = min(15, truncateToInt(source[j + 16] * inverse + 8.5))
                out.storeBytes(of: UInt8(truncatingIfNeeded: low | (high << 4)), toByteOffset: 2 + j, as: UInt8.self)
            }
        }
    }

    /// llama.cpp's `quantize_row_q4_1_ref`: 16 levels spread between the block's minimum and maximum.
    static func quantizeRowQ4_1(_ x: UnsafePointer<Float>, count: Int, into: UnsafeMutableRawPointer) {
        for block in 0..<count / blockSize {
            let source = x + block * blockSize
            let out = into + block * 20
            var low = Float.greatestFiniteMagnitude
            var high = -Float.greatestFiniteMagnitude
            for j in 0..<blockSize {
                if source[j] < low { low = source[j] }
                if source[j] > high { high = source[j] }
            }
            let d = (high - low) / 15
            let inverse: Float = d != 0 ? 1 / d : 0
            HalfFloat.storeF16(d, out, 0)
            HalfFloat.storeF16(low, out, 2)
            for j in 0..<16 {
                let q0 = min(15, truncateToInt((source[j] - low) * inverse + 0.5))
                let q1 = min(15, truncateToInt((source[j + 16] - low) * inverse + 0.5))
                out.storeBytes(of: UInt8(truncatingIfNeeded: q0 | (q1 << 4)), toByteOffset: 4 + j, as: UInt8.self)
            }
        }
    }
}
