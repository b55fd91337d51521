import ElideTensor
import Testing

@Suite("Block quantization")
struct QuantizationTests {
    /// 127 is the block maximum, so the scale is exactly 1 and every tie is visible.
    static let tieBlock: [Float] =
        [127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49, -127] + [Float](repeating: 0, count: 23)

    @Test("Q8_0 activations round half to even with d = max/127")
    func q8_0Ties() {
        let bytes = Self.tieBlock.withUnsafeBufferPointer { x in
            bytesWritten(count: 34) { Kernels.quantizeRowQ8_0(x.baseAddress!, count: 32, into: $0) }
        }
        let quants: [Int8] = [127, 0, 2, 2, 0, -2, -2, 3, -127] + [Int8](repeating: 0, count: 23)
        #expect(bytes == [0x00, 0x3C] + quants.map { UInt8(bitPattern: $0) })
    }

    @Test("Q8_1 activations also store s = d × Σq")
    func q8_1Ties() {
        let bytes = Self.tieBlock.withUnsafeBufferPointer { x in
            bytesWritten(count: 36) { Kernels.quantizeRowQ8_1(x.baseAddress!, count: 32, into: $0) }
        }
        let quants: [Int8] = [127, 0, 2, 2, 0, -2, -2, 3, -127] + [Int8](repeating: 0, count: 23)
        // Σq = 3, d = 1, so s = 3.0 = 0x4200 in F16.
        #expect(bytes == [0x00, 0x3C, 0x00, 0x42] + quants.map { UInt8(bitPattern: $0) })
    }

    @Test("The reference Q8_0 quantizer rounds ties away from zero")
    func q8_0ReferenceTies() {
        let bytes = Self.tieBlock.withUnsafeBufferPointer { x in
            bytesWritten(count: 34) { Kernels.quantizeRowQ8_0Reference(x.baseAddress!, count: 32, into: $0) }
        }
        let quants: [Int8] = [127, 1, 2, 3, -1, -2, -3, 3, -127] + [Int8](repeating: 0, count: 23)
        #expect(bytes == [0x00, 0x3C] + quants.map { UInt8(bitPattern: $0) })
    }

    @Test("Q4_0 maps the largest magnitude to −8 and truncates x/d + 8.5")
    func q4_0HandBlock() {
        var x = [Float](repeating: 0, count: 32)
        x[0] = -8
        x[1] = 7
        x[2] = 0.5
        x[3] = -0.5
        x[4] = 7.9
        x[5] = 3
        x[16] = 1
        x[17] = -1
        let bytes = x.withUnsafeBufferPointer { x in
            bytesWritten(count: 18) { Kernels.quantizeRowQ4_0(x.baseAddress!, count: 32, into: $0) }
        }
        let expected: [UInt8] = [0x00, 0x3C, 0x90, 0x7F, 0x89, 0x88, 0x8F, 0x8B] + [UInt8](repeating: 0x88, count: 10)
        #expect(bytes == expected)
    }

    @Test("Q4_1 spreads 16 levels from the minimum and rounds half up")
    func q4_1HandBlock() {
        var x = [Float](repeating: 1, count: 32)
        x[0] = 0
        x[1] = 15
        x[2] = 2.5
        x[3] = 7.49
        x[4] = 14.6
        x[16] = 4.5
        for j in 17..<32 { x[j] = 0 }
        let bytes = x.withUnsafeBufferPointer { x in
            bytesWritten(count: 20) { Kernels.quantizeRowQ4_1(x.baseAddress!, count: 32, into: $0) }
        }
        let expected: [UInt8] =
            [0x00, 0x3C, 0x00, 0x00, 0x50, 0x0F, 0x03, 0x07, 0x0F] + [UInt8](repeating: 0x01, count: 11)
        #expect(bytes == expected)
    }

    @Test("An all-zero block quantizes to zero scales (Q4_0 keeps ggml's −0)")
    func zeroBlocks() {
        let zeros = [Float](repeating: 0, count: 32)
        zeros.withUnsafeBufferPointer { x in
            let p = x.baseAddress!
            #expect(
                bytesWritten(count: 34) { Kernels.quantizeRowQ8_0(p, count: 32, into: $0) }
                    == [UInt8](repeating: 0, count: 34))
            #expect(
                bytesWritten(count: 36) { Kernels.quantizeRowQ8_1(p, count: 32, into: $0) }
                    == [UInt8](repeating: 0, count: 36))
            #expect(
                bytesWritten(count: 18) { Kernels.quantizeRowQ4_0(p, count: 32, into: $0) }
                    == [0x00, 0x80] + [UInt8](repeating: 0x88, count: 16))
            #expect(
                bytesWritten(count: 20) { Kernels.quantizeRowQ4_1(p, count: 32, into: $0) }
                    == [UInt8](repeating: 0, count: 20))
        }
    }

    @Test("Hand-made blocks of every stored type dequantize to their exact values")
    func dequantizeHandBlocks() {
        func decode(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Float] {
            bytes.withUnsafeBytes { raw in
                let matrix = QuantizedMatrix(type: type, rows: 1, columns: count, data: raw.baseAddress!)
                var out = [Float](repeating: .nan, count: count)
                out.withUnsafeMutableBufferPointer { matrix.dequantizeRow(0, into: $0.baseAddress!) }
                return out
            }
        }
        var q4_0 = [0x00, 0x38] + [UInt8](repeating: 0x88, count: 16)
        q4_0[2] = 0x1F
        var expected = [Float](repeating: 0, count: 32)
        expected[0] = 3.5
        expected[16] = -3.5
        #expect(decode(.q4_0, q4_0, count: 32) == expected)

        var q4_1 = [0x00, 0x34, 0x00, 0xBC] + [UInt8](repeating: 0x44, count: 16)
        q4_1[4] = 0xF0
        expected = [Float](repeating: 0, count: 32)
        expected[16] = 2.75
        expected[0] = -1
        #expect(decode(.q4_1, q4_1, count: 32) == expected)

        var q8_0 = [0x00, 0x40] + [UInt8](repeating: 0, count: 32)
        q8_0[2] = 0x80
        q8_0[33] = 0x7F
        expected = [Float](repeating: 0, count: 32)
        expected[0] = -256
        expected[31] = 254
        #expect(decode(.q8_0, q8_0, count: 32) == expected)

        #expect(decode(.f16, [0x00, 0x3C, 0x00, 0xC0], count: 2) == [1, -2])
        #expect(decode(.bf16, [0x80, 0x3F, 0x40, 0xC0], count: 2) == [1, -3])
        #expect(decode(.f32, [0x00, 0x00, 0x80, 0x3F], count: 1) == [1])
    }

    @Test("Rounding random activations to Q8_0 and Q8_1 stays within half a step", arguments: [GGMLType.q8_0, .q8_1])
    func activationRoundTrip(type: GGMLType) {
        var rng = SeededGenerator(seed: 11)
        let count = 32 * 9
        let x = rng.floats(count, in: -5...5)
        let bytes = x.withUnsafeBufferPointer { p in
            bytesWritten(count: type.rowBytes(count)) {
                Kernels.convertRow(p.baseAddress!, count: count, to: type, into: $0)
            }
        }
        let decoded = Reference.decode(type, bytes, count: count)
        let size = type.blockBytes
        for block in 0..<count / 32 {
            let maxAbs = x[(block * 32)..<(block * 32 + 32)].map { abs(Double($0)) }.max()!
            let step = maxAbs / 127
            var largest = 0
            var sum = 0
            for j in 0..<32 {
                let q = Int(Int8(bitPattern: bytes[block * size + size - 32 + j]))
                largest = max(largest, abs(q))
                sum += q
                #expect(abs(decoded[block * 32 + j] - Double(x[block * 32 + j])) <= step * 0.5 + maxAbs * 1e-3)
            }
            #expect(largest == 127)
            if type == .q8_1 {
                let d = Reference.f16(bytes, block * size)
                let s = Reference.f16(bytes, block * size + 2)
                #expect(abs(s - d * Double(sum)) <= abs(d * Double(sum)) * 1e-3 + 1e-6)
            }
        }
    }

    @Test(
        "Reference quantizers reproduce random Q4_0 and Q4_1 data within one step", arguments: [GGMLType.q4_0, .q4_1])
    func weightRoundTrip(type: GGMLType) {
        var rng = SeededGenerator(seed: 12)
        let count = 32 * 7
        let x = rng.floats(count, in: -2...2)
        let bytes = x.withUnsafeBufferPointer { p in
            bytesWritten(count: type.rowBytes(count)) {
                Kernels.convertRow(p.baseAddress!, count: count, to: type, into: $0)
            }
        }
        let decoded = Reference.decode(type, bytes, count: count)
        for block in 0..<count / 32 {
            let d = abs(Reference.f16(bytes, block * type.blockBytes))
            for j in 0..<32 {
                let i = block * 32 + j
                #expect(abs(decoded[i] - Double(x[i])) <= d * 1.01 + 1e-3)
            }
        }
    }
}
