// MARK: - Character classes of the split rules

extension PreTokenizer {
    /// The class of a code point as the GPT-2 split rules see it: `\p{L}`, `\p{N}`, `\s`, or anything else.
    ///
    /// llama.cpp (version 0c1e570, as vendored in llama-cpp-python 0.3.36) classifies code points with its
    /// own tables, generated from Unicode 15.1. The standard library's general categories, restricted to
    /// code points assigned by Unicode 15.1, reproduce those tables exactly for letters and numbers (checked
    /// for every code point against that version's `unicode-data.cpp`). Later additions, such as the
    /// letters of Unicode 16, are therefore `other` here, as there. Whitespace is the Unicode `White_Space`
    /// property, the same 25 code points in both.
    enum CharacterClass: UInt8, Sendable {
        case letter
        case number
        case whitespace
        /// Punctuation, symbols, marks, controls, unassigned code points and U+FFFD.
        case other

        /// The newest Unicode version whose assignments the classes follow.
        static let unicodeVersion = (major: 15, minor: 1)

        init(_ codePoint: UInt32) {
            if codePoint < 0x80 {
                self = Self.asciiClasses[Int(codePoint)]
            } else {
                self = Self.nonASCIIClass(codePoint)
            }
        }

        private static func nonASCIIClass(_ codePoint: UInt32) -> CharacterClass {
            // Surrogates have no `Unicode.Scalar`; their category Cs makes them `other`.
            guard let scalar = Unicode.Scalar(codePoint) else { return .other }
            let properties = scalar.properties
            if properties.isWhitespace { return .whitespace }
            guard let age = properties.age, (age.major, age.minor) <= unicodeVersion else { return .other }
            switch properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
                return .letter
            case .decimalNumber, .letterNumber, .otherNumber:
                return .number
            default:
                return .other
            }
        }

        private static let asciiClasses: [CharacterClass] = (0..<0x80).map { byte in
            switch UInt8(byte) {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): .letter
            case UInt8(ascii: "0")...UInt8(ascii: "9"): .number
            case 0x09...0x0D, 0x20: .whitespace
            default: .other
            }
        }
    }
}
