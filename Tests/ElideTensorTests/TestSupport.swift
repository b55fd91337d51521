import ElideTensor

/// SplitMix64: a small seeded generator, so every test input is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    mutating func floats(_ count: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
        (0..<count).map { _ in Float.random(in: range, using: &self) }
    }
}

/// Decoders written independently of the library, from the block layouts in ggml's `ggml-common.h`.
enum Reference {
    static func f16(_ bytes: [UInt8], _ offset: Int) -> Double {
        Double(Float(Float16(bitPattern: UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8)))
    }

    static func bf16(_ bytes: [UInt8], _ offset: Int) -> Double {
        let bits = UInt32(bytes[offset]) << 16 | UInt32(bytes[offset + 1]) << 24
        return Double(Float(bitPattern: bits))
    }

    /// The `count` values stored in `bytes` as `type`.
    static func decode(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Double] {
        var out = [Double]()
        out.reserveCapacity(count)
        switch type {
        case .f32:
            for i in 0..<count {
                let bits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[4 * i + $1]) << (8 * $1) }
                out.append(Double(Float(bitPattern: bits)))
            }
        case .f16:
            for i in 0..<count { out.append(f16(bytes, 2 * i)) }
        case .bf16:
            for i in 0..<count { out.append(bf16(bytes, 2 * i)) }
        case .q4_0, .q4_1:
            let size = type == .q4_0 ? 18 : 20
            let nibbles = type == .q4_0 ? 2 : 4
            for block in 0..<count / 32 {
                let base = block * size
                let d = f16(bytes, base)
                let m = type == .q4_1 ? f16(bytes, base + 2) : 0
                var values = [Double](repeating: 0, count: 32)
                for j in 0..<16 {
                    let byte = bytes[base + nibbles + j]
                    let low = Double(byte & 15)
                    let high = Double(byte >> 4)
                    values[j] = type == .q4_0 ? d * (low - 8) : d * low + m
                    values[j + 16] = type == .q4_0 ? d * (high - 8) : d * high + m
                }
                out += values
            }
        case .q8_0, .q8_1:
            let size = type == .q8_0 ? 34 : 36
            let header = size - 32
            for block in 0..<count / 32 {
                let d = f16(bytes, block * size)
                for j in 0..<32 {
                    out.append(d * Double(Int8(bitPattern: bytes[block * size + header + j])))
                }
            }
        }
        return out
    }

    /// Random bytes forming valid `type` data: random quants and moderate, finite scales.
    static func randomRow(_ type: GGMLType, count: Int, using rng: inout SeededGenerator) -> [UInt8] {
        func half(_ value: Float) -> [UInt8] {
            let bits = Float16(value).bitPattern
            return [UInt8(bits & 0xff), UInt8(bits >> 8)]
        }
        var bytes = [UInt8]()
        switch type {
        case .f32:
            for value in rng.floats(count) {
                let bits = value.bitPattern
                bytes += (0..<4).map { UInt8((bits >> (8 * UInt32($0))) & 0xff) }
            }
        case .f16:
            for value in rng.floats(count) { bytes += half(value) }
        case .bf16:
            for value in rng.floats(count) {
                let bits = value.bitPattern >> 16
                bytes += [UInt8(bits & 0xff), UInt8(bits >> 8)]
            }
        case .q4_0, .q4_1, .q8_0, .q8_1:
            for _ in 0..<count / 32 {
                bytes += half(Float.random(in: 0.001...0.05, using: &rng))
                if type == .q4_1 || type == .q8_1 { bytes += half(Float.random(in: -0.3...0.3, using: &rng)) }
                let quantBytes = type == .q4_0 || type == .q4_1 ? 16 : 32
                for _ in 0..<quantBytes { bytes.append(UInt8.random(in: 0...255, using: &rng)) }
            }
        }
        return bytes
    }
}

/// Bytes written by a library function that fills a raw buffer.
func bytesWritten(count: Int, _ body: (UnsafeMutableRawPointer) -> Void) -> [UInt8] {
    var bytes = [UInt8](repeating: 0xAA, count: count)
    bytes.withUnsafeMutableBytes { body($0.baseAddress!) }
    return bytes
}

func halfBytes(_ value: Float) -> [UInt8] {
    let bits = Float16(value).bitPattern
    return [UInt8(bits & 0xff), UInt8(bits >> 8)]
}
