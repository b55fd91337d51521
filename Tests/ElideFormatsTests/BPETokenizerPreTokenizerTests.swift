import Testing

@testable import ElideFormats

/// The pre-tokenizer's split rules and its reading of UTF-8, checked on hand-written cases whose expected
/// words follow from the GPT-2 pattern and llama.cpp's digit isolation.
@Suite struct BPETokenizerPreTokenizerTests {
    /// Splits text with the named pre-tokenizer and returns the words as strings.
    static func words(_ text: String, preTokenizer name: String = "smollm") throws -> [String] {
        let preTokenizer = try PreTokenizer(name: name)
        let codePoints = PreTokenizer.decodeCodePoints(Array(text.utf8))
        return preTokenizer.split(codePoints).map { range in
            var utf8: [UInt8] = []
            for codePoint in codePoints[range] {
                PreTokenizer.appendUTF8(codePoint, to: &utf8)
            }
            return String(decoding: utf8, as: UTF8.self)
        }
    }

    // MARK: Split rules

    @Test func lettersTakeOneLeadingSpace() throws {
        #expect(try Self.words("Hello world") == ["Hello", " world"])
        #expect(try Self.words("The capital of France") == ["The", " capital", " of", " France"])
    }

    @Test func spaceRunLeavesLastSpaceForWord() throws {
        #expect(try Self.words("a   b") == ["a", "  ", " b"])
        #expect(try Self.words("  leading") == [" ", " leading"])
    }

    @Test func trailingWhitespaceStaysTogether() throws {
        #expect(try Self.words("end  ") == ["end", "  "])
        #expect(try Self.words(" ") == [" "])
        #expect(try Self.words("   \n   ") == ["   \n   "])
    }

    @Test func whitespaceBeforeNewlineSplits() throws {
        // `\s+(?!\S)` stops one short of the letter, and that newline is not a space, so it is a word alone.
        #expect(try Self.words("a\n\nb") == ["a", "\n", "\n", "b"])
        #expect(try Self.words("x \n y") == ["x", " \n", " y"])
    }

    @Test func digitsAreIsolated() throws {
        #expect(try Self.words("2026") == ["2", "0", "2", "6"])
        #expect(try Self.words("Mixed123abc def7") == ["Mixed", "1", "2", "3", "abc", " def", "7"])
        // The space before a digit is left alone: digit isolation runs before the GPT-2 pattern.
        #expect(try Self.words("in 1999") == ["in", " ", "1", "9", "9", "9"])
    }

    @Test func gpt2KeepsDigitRuns() throws {
        #expect(try Self.words("in 1999", preTokenizer: "gpt-2") == ["in", " 1999"])
    }

    @Test func nonASCIINumbersAreIsolated() throws {
        // U+00BD VULGAR FRACTION ONE HALF and U+0663 ARABIC-INDIC DIGIT THREE are \p{N}.
        #expect(try Self.words("x½٣y") == ["x", "½", "٣", "y"])
    }

    @Test func contractionsAreLowercaseOnly() throws {
        #expect(try Self.words("I'm you're they'll") == ["I", "'m", " you", "'re", " they", "'ll"])
        #expect(try Self.words("CAN'T") == ["CAN", "'", "T"])
        #expect(try Self.words("don't") == ["don", "'t"])
    }

    @Test func punctuationRunsTakeOneLeadingSpace() throws {
        #expect(try Self.words("Wait!!! ...") == ["Wait", "!!!", " ..."])
        #expect(try Self.words("(x)") == ["(", "x", ")"])
    }

    @Test func nonASCIILettersFormWords() throws {
        #expect(try Self.words("café naïve Größe") == ["café", " naïve", " Größe"])
        #expect(try Self.words("日本語") == ["日本語"])
    }

    @Test func combiningMarkIsNotALetter() throws {
        // "e" followed by U+0301 COMBINING ACUTE ACCENT: the mark is \p{M}, outside \p{L}.
        #expect(try Self.words("cafe\u{301}s") == ["cafe", "\u{301}", "s"])
    }

    @Test func unicodeSpacesAreWhitespace() throws {
        // U+00A0 NO-BREAK SPACE and U+3000 IDEOGRAPHIC SPACE are whitespace; only U+0020 prefixes a word.
        #expect(try Self.words("a\u{A0}b") == ["a", "\u{A0}", "b"])
        #expect(try Self.words("a\u{3000}\u{3000}b") == ["a", "\u{3000}", "\u{3000}", "b"])
    }

    @Test func emptyTextHasNoWords() throws {
        #expect(try Self.words("").isEmpty)
    }

    @Test func unknownPreTokenizerIsRejected() {
        #expect(throws: BPETokenizerError.self) { try PreTokenizer(name: "llama3") }
    }

    // MARK: Character classes

    @Test func whitespaceSetHas25CodePoints() {
        let whitespace = (UInt32(0)...0x10FFFF).filter { PreTokenizer.CharacterClass($0) == .whitespace }
        let expected: [UInt32] =
            Array(0x09...0x0D) + [0x20, 0x85, 0xA0, 0x1680] + Array(0x2000...0x200A)
            + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
        #expect(whitespace == expected)
    }

    @Test func unicode16LettersAreNotLetters() {
        // U+1C89 CYRILLIC CAPITAL LETTER TJE was added in Unicode 16.0, after the tables llama.cpp uses.
        #expect(PreTokenizer.CharacterClass(0x1C89) == .other)
        // U+0416 CYRILLIC CAPITAL LETTER ZHE has been a letter since Unicode 1.1.
        #expect(PreTokenizer.CharacterClass(0x0416) == .letter)
    }

    @Test func surrogatesAndReplacementAreOther() {
        #expect(PreTokenizer.CharacterClass(0xD800) == .other)
        #expect(PreTokenizer.CharacterClass(0xFFFD) == .other)
        #expect(PreTokenizer.CharacterClass(0x0000) == .other)
    }

    // MARK: Reading invalid UTF-8

    @Test func invalidBytesBecomeReplacement() {
        let cases: [(input: [UInt8], codePoints: [UInt32])] = [
            ([0xFF], [0xFFFD]),
            ([0x48, 0x80, 0x77], [0x48, 0xFFFD, 0x77]),
            ([0xC3, 0x28], [0xFFFD, 0x28]),
            ([0xE2, 0x82], [0xFFFD, 0xFFFD]),
            ([0xF0, 0x9F, 0x98], [0xFFFD, 0xFFFD, 0xFFFD]),
            ([0xF8, 0x88, 0x80, 0x80, 0x80], [0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD]),
        ]
        for (input, codePoints) in cases {
            #expect(PreTokenizer.decodeCodePoints(input) == codePoints, "input \(input)")
        }
    }

    @Test func overlongAndSurrogatesAreRead() {
        // llama.cpp reads an overlong `/` as `/` and a UTF-16 surrogate as its code point.
        #expect(PreTokenizer.decodeCodePoints([0xC0, 0xAF]) == [0x2F])
        #expect(PreTokenizer.decodeCodePoints([0xED, 0xA0, 0x80]) == [0xD800])
        #expect(PreTokenizer.decodeCodePoints([0xE0, 0x80, 0x80]) == [0x00])
    }

    @Test func valuesAboveUnicodeBecomeReplacement() {
        // F4 90 80 80 spells U+110000, which llama.cpp cannot encode again; each byte becomes U+FFFD.
        #expect(PreTokenizer.decodeCodePoints([0xF4, 0x90, 0x80, 0x80]) == [0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD])
        #expect(PreTokenizer.decodeCodePoints([0xF4, 0x8F, 0xBF, 0xBF]) == [0x10FFFF])
    }

    @Test func sanitizedUTF8MatchesRules() {
        #expect(BPETokenizer.sanitizedUTF8(Array("héllo 😀".utf8)) == Array("héllo 😀".utf8))
        #expect(BPETokenizer.sanitizedUTF8([0x61, 0xFF, 0x62]) == [0x61, 0xEF, 0xBF, 0xBD, 0x62])
        #expect(BPETokenizer.sanitizedUTF8([0xC0, 0xAF]) == [0x2F])
        #expect(BPETokenizer.sanitizedUTF8([0xED, 0xA0, 0x80]) == [0xED, 0xA0, 0x80])
        #expect(BPETokenizer.sanitizedUTF8([0xE2, 0x82]) == [0xEF, 0xBF, 0xBD, 0xEF, 0xBF, 0xBD])
    }
}
