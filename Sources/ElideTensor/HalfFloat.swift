/// Conversions between `Float` and the two 16-bit float encodings ggml stores.
///
/// F16 uses Swift's `Float16`, which rounds to nearest even like F16C's `vcvtps2ph` with rounding
/// mode 0 (what ggml's `GGML_FP32_TO_FP16` does on x86). BF16 follows ggml's `GGML_FP32_TO_BF16`:
/// round to nearest even on the upper 16 bits, and quiet NaNs kept NaN.
enum HalfFloat {
    @inline(__always)
    static func f16ToFloat(_ bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    @inline(__always)
    static func floatToF16(_ value: Float) -> UInt16 {
        Float16(value).bitPattern
    }

    @inline(__always)
    static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    @inline(__always)
    static func floatToBF16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if bits & 0x7fff_ffff > 0x7f80_0000 {
            return UInt16(truncatingIfNeeded: (bits >> 16) | 64)
        }
        return UInt16(truncatingIfNeeded: (bits &+ (0x7fff &+ ((bits >> 16) & 1))) >> 16)
    }

    /// Reads the F16 value at `offset` bytes from `base`, which need not be aligned.
    @inline(__always)
    static func loadF16(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
        f16ToFloat(base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    static func storeF16(_ value: Float, _ base: UnsafeMutableRawPointer, _ offset: Int) {
        base.storeBytes(of: floatToF16(value), toByteOffset: offset, as: UInt16.self)
    }
}
