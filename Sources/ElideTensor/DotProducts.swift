/// Dot products between one stored weight row and one activation row, in every pairing `matmul`
/// uses. These are the portable versions; `matmul` uses the SIMD versions in `AVX2Kernels`
/// where the CPU has them.
enum DotProducts {
    /// The activation format llama.cpp pairs with `weight` (`vec_dot_type`) when activations are
    /// rounded, or F32 when they are kept.
    static func activationType(for weight: GGMLType, precision: ActivationPrecision) -> GGMLType {
        guard precision == .q8 else { return .f32 }
        switch weight {
        case .q4_0, .q8_0: return .q8_0
        case .q4_1: return .q8_1
        case .f16: return .f16
        case .bf16: return .bf16
        case .f32: return .f32
        case .q8_1: preconditionFailure("Q8_1 is an activation format; llama.cpp has no Q8_1 weight product")
        }
    }

    /// `Σ w[i] × a[i]` over `count` elements, where `w` is stored as `weightType` and `a` as
    /// `activationType` (one of the pairs `activationType(for:precision:)` returns).
    static func scalar(
        _ weightType: GGMLType, _ w: UnsafeRawPointer, _ activationType: GGMLType, _ a: UnsafeRawPointer, count: Int
    ) -> Float {
        switch (weightType, activationType) {
        case (.q4_0, .q8_0):
            var sum: Float = 0
            for block in 0..<count / 32 {
                let wb = w + block * 18
                let ab = a + block * 34
                var integer: Int32 = 0
                for j in 0..<16 {
                    let byte = wb.load(fromByteOffset: 2 + j, as: UInt8.self)
                    integer += (Int32(byte & 0x0f) - 8) * Int32(ab.load(fromByteOffset: 2 + j, as: Int8.self))
                    integer += (Int32(byte >> 4) - 8) * Int32(ab.load(fromByteOffset: 18 + j, as: Int8.self))
                }
                sum += Float(integer) * (HalfFloat.loadF16(wb, 0) * HalfFloat.loadF16(ab, 0))
            }
            return sum
        case (.q4_1, .q8_1):
            var sum: Float = 0
            var offsets: Float = 0
            for block in 0..<count / 32 {
                let wb = w + block * 20
                let ab = a + block * 36
                var integer: Int32 = 0
                for j in 0..<16 {
                    let byte = wb.load(fromByteOffset: 4 + j, as: UInt8.self)
                    integer += Int32(byte & 0x0f) * Int32(ab.load(fromByteOffset: 4 + j, as: Int8.self))
                    integer += Int32(byte >> 4) * Int32(ab.load(fromByteOffset: 20 + j, as: Int8.self))
                }
                sum += Float(integer) * (HalfFloat.loadF16(wb, 0) * HalfFloat.loadF16(ab, 0))
                offsets += HalfFloat.loadF16(wb, 2) * HalfFloat.loadF16(ab, 2)
            }
            return sum + offsets
        case (.q8_0, .q8_0):
            var sum: Float = 0
            for block in 0..<count / 32 {
                let wb = w + block * 34
                let ab = a + block * 34
                var integer: Int32 = 0
                for j in 0..<32 {
                    integer +=
                        Int32(wb.load(fromByteOffset: 2 + j, as: Int8.self))
                        * Int32(ab.load(fromByteOffset: 2 + j, as: Int8.self))
                }
                sum += Float(integer) * (HalfFloat.loadF16(wb, 0) * HalfFloat.loadF16(ab, 0))
            }
            return sum
        case (.f16, .f16):
            var sum: Float = 0
            for i in 0..<count {
                sum +=
                    HalfFloat.f16ToFloat(w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    * HalfFloat.f16ToFloat(a.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
            return sum
        case (.bf16, .bf16):
            var sum: Float = 0
            for i in 0..<count {
                sum +=
                    HalfFloat.bf16ToFloat(w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    * HalfFloat.bf16ToFloat(a.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
            return sum
        case (_, .f32):
            let x = a.assumingMemoryBound(to: Float.self)
            return withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { buffer in
                let row = buffer.baseAddress!
                let step = weightType.blockSize == 1 ? 32 : weightType.blockSize
                var sum: Float = 0
                var start = 0
                while start < count {
                    let n = min(step, count - start)
                    BlockCodec.dequantize(
                        weightType, w + weightType.rowBytes(start), count: n, into: row)
                    for j in 0..<n { sum += row[j] * x[start + j] }
                    start += n
                }
                return sum
            }
        default:
            preconditionFailure("no dot product between \(weightType) weights and \(activationType) activations")
        }
    }
}
