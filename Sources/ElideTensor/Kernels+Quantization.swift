extension Kernels {
    /// Rounds `count` floats (a multiple of 32) to Q8_1 blocks exactly as llama.cpp's AVX2
    /// `quantize_row_q8_1` does: `d = max|x| / 127` stored as F16, `q = x × (127 / max|x|)` rounded half
    /// to even, and `s = d × Σq` stored as F16. This is how llama.cpp feeds activations to Q4_1 weights.
    public static func quantizeRowQ8_1(_ x: UnsafePointer<Float>, count: Int, into: UnsafeMutableRawPointer) {
        precondition(count % 32 == 0, "Q8_1 rows hold whole 32-element blocks; got \(count) elements")
        #if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
            AVX2Kernels.quantizeRowQ8_1(x, count: count, into: into)
        #else
            BlockCodec.quantizeRowQ8_1(x, count: count, into: into)
        #endif
    }

    /// Rounds `count` floats to Q8_0 blocks exactly as llama.cpp's AVX2 `quantize_row_q8_0` does (as
    /// for Q8_1, without `s`). This is how llama.cpp feeds activations to Q4_0 and Q8_0 weights.
    public static func quantizeRowQ8_0(_ x: UnsafePointer<Float>, count: Int, into: UnsafeMutableRawPointer) {
        precondition(count % 32 == 0, "Q8_0 rows hold whole 32-element blocks; got \(count) elements")
        #if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
            AVX2Kernels.quantizeRowQ8_0(x, count: count, into: into)
        #else
            BlockCodec.quantizeRowQ8_0(x, count: count, into: into)
        #endif
    }

    /// llama.cpp's reference Q8_0 quantizer (`quantize_row_q8_0_ref`, rounding ties away from zero),
    /// which `llama-quantize` uses for Q8_0 weights.
    public static func quantizeRowQ8_0Reference(_ x: UnsafePointer<Float>, count: Int, into: UnsafeMutableRawPointer) {
        precondition(count % 32 == 0, "Q8_0 rows hold whole 32-element blocks; got \(count) elements")
        BlockCodec.quantizeRowQ8_0Reference(x, count: count, into: into)
    }

    /// llama.cpp's reference Q4_0 quantizer (`quantize_row_q4_0_ref`).
    public static func quantizeRowQ4_0(_ x: UnsafePointer<Float>, count: Int, into: UnsafeMutableRawPointer) {
        precondition(count % 32 == 0, "Q4_0 rows hold whole 32-element blocks; got \(count) elements")
        BlockCodec.quantizeRowQ4_0(x, count: count, into: into)
    }

    /// llama.cpp's reference Q4_1 quantizer (`quantize_row_q4_1_ref`).
    public static func quantizeRowQ4_1(_ x: UnsafePointer<Float>, count: Int, into: UnsafeMutableRawPointer) {
        precondition(count % 32 == 0, "Q4_1 rows hold whole 32-element blocks; got \(count) elements")
        BlockCodec.quantizeRowQ4_1(x, count: count, into: into)
    }

    /// Converts `count` floats to `type` (F32, F16, BF16, or the 8-bit activation blocks Q8_0 and Q8_1,
    /// rounded as llama.cpp rounds activations) at `into`.
    public static func convertRow(
        _ x: UnsafePointer<Float>, count: Int, to type: GGMLType, into: UnsafeMutableRawPointer
    ) {
        switch type {
        case .f32:
            into.copyMemory(from: x, byteCount: count * 4)
        case .f16:
            for i in 0..<count {
                into.storeBytes(of: HalfFloat.floatToF16(x[i]), toByteOffset: 2 * i, as: UInt16.self)
            }
        case .bf16:
            for i in 0..<count {
                into.storeBytes(of: HalfFloat.floatToBF16(x[i]), toByteOffset: 2 * i, as: UInt16.self)
            }
        case .q8_0:
            quantizeRowQ8_0(x, count: count, into: into)
        case .q8_1:
            quantizeRowQ8_1(x, count: count, into: into)
        case .q4_0:
            quantizeRowQ4_0(x, count: count, into: into)
        case .q4_1:
            quantizeRowQ4_1(x, count: count, into: into)
        }
    }
}
