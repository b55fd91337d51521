// MARK: - GPT-2 byte-level alphabet

extension BPETokenizer {
    /// The reversible byte-to-character mapping of GPT-2's byte-level BPE.
    ///
    /// Vocabulary entries and merge rules are written in this alphabet. The 188 printable bytes `!`...`~`,
    /// `¡`...`¬` and `®`...`ÿ` are their own characters. The other 68 bytes (controls, space, DEL, NBSP,
    /// soft hyphen and the C1 range) map in increasing order to U+0100 and up, so a space is `Ġ` (U+0120)
    /// and a newline `Ċ` (U+010A). Source: `bytes_to_unicode` in openai/gpt-2,
    /// `src/encoder.py`.
    enum ByteLevel {
        /// The code point that encodes each byte value, indexed by the byte.
        static let codePointForByte: [UInt32] = {
            var table = [UInt32](repeating: 0, count: 256)
            var nextExtra: UInt32 = 0x100
            for byte in 0..<256 {
                if isOwnCharacter(UInt8(byte)) {
                    table[byte] = UInt32(byte)
                } else {
                    table[byte] = nextExtra
                    nextExtra += 1
                }
            }
            return table
        }()

        /// Returns the byte that a code point of the alphabet encodes, or nil for code points outside it.
        static func byte(forCodePoint codePoint: UInt32) -> UInt8? {
            if codePoint < 0x100 {
                return isOwnCharacter(UInt8(codePoint)) ? UInt8(codePoint) : nil
            }
            guard codePoint < 0x100 + 68 else { return nil }
            return byteForExtraCodePoint[Int(codePoint - 0x100)]
        }

        /// Returns the one-character string that encodes a byte.
        static func character(forByte byte: UInt8) -> String {
            // !-safe: every entry of the table is a valid scalar below U+0144.
            String(Character(Unicode.Scalar(codePointForByte[Int(byte)])!))
        }

        private static func isOwnCharacter(_ byte: UInt8) -> Bool {
            (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
        }

        /// Bytes that are not their own character, in the order of their code points U+0100, U+0101, ...
        private static let byteForExtraCodePoint: [UInt8] = (0...255).map(UInt8.init).filter {
            !isOwnCharacter($0)
        }
    }
}
