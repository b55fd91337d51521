import Testing

@testable import ElideTensor

/// The portable kernels are what other architectures run; on x86-64 they must agree with the AVX2
/// kernels the package normally uses.
@Suite("Portable and SIMD kernels agree")
struct PortableKernelTests {
    /// Random activations with some exact ties (values that land on k + 0.5 after scaling).
    static func activations(blocks: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        var x = rng.floats(blocks * 32, in: -4...4)
        for block in stride(from: 0, to: blocks, by: 3) {
            x[block * 32] = 127
            for j in 1..<8 { x[block * 32 + j] = Float(j) + 0.5 }
        }
        return x
    }

    #if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
        @Test("Q8_0 and Q8_1 rounding give identical bytes", arguments: [GGMLType.q8_0, .q8_1])
        func activationBytes(type: GGMLType) {
            let blocks = 40
            let x = Self.activations(blocks: blocks, seed: 41)
            let bytes = type.rowBytes(blocks * 32)
            x.withUnsafeBufferPointer { p in
                let simd = bytesWritten(count: bytes) {
                    if type == .q8_0 {
                        AVX2Kernels.quantizeRowQ8_0(p.baseAddress!, count: blocks * 32, into: $0)
                    } else {
                        AVX2Kernels.quantizeRowQ8_1(p.baseAddress!, count: blocks * 32, into: $0)
                    }
                }
                let portable = bytesWritten(count: bytes) {
                    if type == .q8_0 {
                        BlockCodec.quantizeRowQ8_0(p.baseAddress!, count: blocks * 32, into: $0)
                    } else {
                        BlockCodec.quantizeRowQ8_1(p.baseAddress!, count: blocks * 32, into: $0)
                    }
                }
                #expect(simd == portable)
            }
        }

        @Test("Row expansion agrees", arguments: [GGMLType.q4_0, .q4_1, .q8_0, .f16, .bf16])
        func dequantize(type: GGMLType) {
            var rng = SeededGenerator(seed: 42)
            let count = 32 * 13
            let bytes = Reference.randomRow(type, count: count, using: &rng)
            var simd = [Float](repeating: .nan, count: count)
            var portable = [Float](repeating: .nan, count: count)
            bytes.withUnsafeBytes { raw in
                simd.withUnsafeMutableBufferPointer {
                    #expect(AVX2Kernels.dequantize(type, raw.baseAddress!, count: count, into: $0.baseAddress!))
                }
                portable.withUnsafeMutableBufferPointer {
                    BlockCodec.dequantizePortable(type, raw.baseAddress!, count: count, into: $0.baseAddress!)
                }
            }
            for i in 0..<count {
                // The SIMD path fuses d·q + m into one rounding.
                #expect(abs(simd[i] - portable[i]) <= abs(portable[i]) * 1e-6 + 1e-7)
            }
        }
    #endif

    @Test("Portable products agree with the kernels matmul uses", arguments: [GGMLType.q4_0, .q4_1, .q8_0, .f16])
    func products(type: GGMLType) {
        var rng = SeededGenerator(seed: 43)
        let rows = 9
        let columns = 32 * 6
        var weightBytes = [UInt8]()
        for _ in 0..<rows { weightBytes += Reference.randomRow(type, count: columns, using: &rng) }
        let x = rng.floats(columns)
        for precision in ActivationPrecision.allCases {
            weightBytes.withUnsafeBytes { raw in
                let matrix = QuantizedMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                let layout = ActivationLayout(weight: type, precision: precision, columns: columns)
                var fast = [Float](repeating: .nan, count: rows)
                var portable = [Float](repeating: .nan, count: rows)
                x.withUnsafeBufferPointer { xp in
                    let scratch = UnsafeMutableRawPointer.allocate(
                        byteCount: max(1, layout.scratchBytes(tokens: 1)), alignment: 64)
                    defer { scratch.deallocate() }
                    let activations = layout.prepare(xp.baseAddress!, tokens: 1, scratch: scratch)
                    fast.withUnsafeMutableBufferPointer {
                        Kernels.productRows(matrix, 0..<rows, activations, layout: layout, tokens: 1, $0.baseAddress!)
                    }
                    portable.withUnsafeMutableBufferPointer {
                        Kernels.productRowsPortable(
                            matrix, 0..<rows, activations, layout: layout, tokens: 1, $0.baseAddress!)
                    }
                }
                for r in 0..<rows {
                    #expect(
                        abs(fast[r] - portable[r]) <= max(abs(portable[r]), 1) * 2e-5, "\(type) \(precision) row \(r)")
                }
            }
        }
    }

    #if os(Linux) && arch(x86_64)
        @Test("OpenBLAS runs kernels for this CPU, not the Prescott fallback")
        func blasCore() {
            #expect(Kernels.blasCoreName.lowercased() != "prescott")
        }
    #endif
}
