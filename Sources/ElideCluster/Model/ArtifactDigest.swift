/// The sha256 of an artifact's bytes, as 64 lowercase hex digits; artifacts are stored and fetched by it.
public struct ArtifactDigest: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let hex: String

    /// Accepts 64 hex digits in either case; returns nil for anything else.
    public init?(hex: String) {
        let lowered = hex.lowercased()
        guard lowered.utf8.count == 64, lowered.utf8.allSatisfy({ isHexDigit($0) }) else { return nil }
        self.hex = lowered
    }

    /// Formats 32 raw digest bytes.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a sha256 digest has 32 bytes, got \(bytes.count)")
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        self.hex = String(decoding: text, as: UTF8.self)
    }

    public var description: String { "sha256:" + hex.prefix(12) }

    public static func < (lhs: ArtifactDigest, rhs: ArtifactDigest) -> Bool { lhs.hex < rhs.hex }
}

private func isHexDigit(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
}
