/// Big-endian integer helpers for the small payloads of the diagnostic job kinds.
enum ByteCoding {
    static func bytes(of value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }

    /// Reads 8 bytes at `offset`; returns nil when fewer remain.
    static func uint64(_ bytes: [UInt8], at offset: Int = 0) -> UInt64? {
        guard offset >= 0, bytes.count - offset >= 8 else { return nil }
        var value: UInt64 = 0
        for byte in bytes[offset..<offset + 8] { value = value << 8 | UInt64(byte) }
        return value
    }
}

/// 64-bit FNV-1a, used for checksums that must match bit for bit across workers.
struct FNV1a64 {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01B3
        }
    }

    mutating func add(_ word: UInt64) { add(ByteCoding.bytes(of: word)) }
}

extension UInt64 {
    /// The value as 16 lowercase hex digits.
    var hex16: String {
        let digits = String(self, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
