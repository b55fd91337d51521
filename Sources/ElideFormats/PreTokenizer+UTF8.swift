// MARK: - UTF-8 the way llama.cpp reads it

extension PreTokenizer {
    /// The replacement character U+FFFD, which replaces each byte that does not start a readable sequence.
    static let replacementCodePoint: UInt32 = 0xFFFD

    /// Decodes bytes into code points with the rules of llama.cpp's `unicode_cpts_from_utf8`, so that text
    /// with invalid UTF-8 splits and tokenizes as it does there.
    ///
    /// The lead byte alone sets the length of a sequence, and only the continuation bytes' top two bits are
    /// checked. A byte that cannot start a sequence (a stray continuation byte, `F8`...`FF`), or a lead byte
    /// whose continuation bytes are missing or wrong, becomes one U+FFFD, and decoding resumes at the next
    /// byte. Overlong forms and surrogates are accepted as the code points they spell, so `C0 AF` reads as
    /// `/` and `ED A0 80` as U+D800.
    ///
    /// - Note: llama.cpp's decoder accepts a 4-byte sequence that spells a value above U+10FFFF (lead byte
    ///   `F4` with a high second byte, or `F5`...`F7`), but its UTF-8 encoder then throws an exception that
    ///   nothing catches, and `llama-tokenize` (version 0c1e570) aborts. Here the lead byte of such a
    ///   sequence becomes U+FFFD like any other invalid byte.
    static func decodeCodePoints(_ bytes: some Collection<UInt8>) -> [UInt32] {
        var codePoints: [UInt32] = []
        codePoints.reserveCapacity(bytes.count)
        let bytes = Array(bytes)
        var index = 0
        while index < bytes.count {
            if let (codePoint, length) = decodeSequence(bytes, at: index) {
                codePoints.append(codePoint)
                index += length
            } else {
                codePoints.append(replacementCodePoint)
                index += 1
            }
        }
        return codePoints
    }

    /// Decodes the sequence that starts at `index`; nil when the lead byte cannot start a readable sequence.
    private static func decodeSequence(_ bytes: [UInt8], at index: Int) -> (codePoint: UInt32, length: Int)? {
        let lead = bytes[index]
        let length: Int
        let leadBits: UInt32
        switch lead {
        case 0x00...0x7F: return (UInt32(lead), 1)
        case 0xC0...0xDF: (length, leadBits) = (2, UInt32(lead & 0x1F))
        case 0xE0...0xEF: (length, leadBits) = (3, UInt32(lead & 0x0F))
        case 0xF0...0xF7: (length, leadBits) = (4, UInt32(lead & 0x07))
        default: return nil  // 0x80...0xBF is a continuation byte; 0xF8...0xFF starts no sequence.
        }
        guard index + length <= bytes.count else { return nil }

        var codePoint = leadBits
        for offset in 1..<length {
            let byte = bytes[index + offset]
            guard byte & 0xC0 == 0x80 else { return nil }
            codePoint = codePoint << 6 | UInt32(byte & 0x3F)
        }
        guard codePoint <= 0x10FFFF else { return nil }
        return (codePoint, length)
    }

    /// Appends the UTF-8 encoding of a code point at most U+10FFFF; surrogates are encoded like any other
    /// 3-byte value, as llama.cpp's `unicode_cpt_to_utf8` does.
    static func appendUTF8(_ codePoint: UInt32, to bytes: inout [UInt8]) {
        switch codePoint {
        case 0..<0x80:
            bytes.append(UInt8(codePoint))
        case 0x80..<0x800:
            bytes.append(0xC0 | UInt8(codePoint >> 6))
            bytes.append(0x80 | UInt8(codePoint & 0x3F))
        case 0x800..<0x10000:
            bytes.append(0xE0 | UInt8(codePoint >> 12))
            bytes.append(0x80 | UInt8((codePoint >> 6) & 0x3F))
            bytes.append(0x80 | UInt8(codePoint & 0x3F))
        default:
            precondition(codePoint <= 0x10FFFF, "code point \(codePoint) is above U+10FFFF")
            bytes.append(0xF0 | UInt8(codePoint >> 18))
            bytes.append(0x80 | UInt8((codePoint >> 12) & 0x3F))
            bytes.append(0x80 | UInt8((codePoint >> 6) & 0x3F))
            bytes.append(0x80 | UInt8(codePoint & 0x3F))
        }
    }
}
