import Testing

@testable import ElideFormats

/// Merge order, special tokens, decoding and argument checks on small vocabularies built in the test.
@Suite struct BPETokenizerTests {
    /// The 256 one-character tokens of the GPT-2 byte alphabet, in byte order (token id = byte value).
    static let byteTokens: [String] = (0...255).map { BPETokenizer.ByteLevel.character(forByte: UInt8($0)) }

    /// Builds a tokenizer whose vocabulary is the byte alphabet followed by `extra` tokens.
    static func makeTokenizer(
        extra: [String] = [], extraTypes: [Int]? = nil, merges: [String] = [], bosID: Int? = nil,
        addBOS: Bool = false, preTokenizer: String = "smollm"
    ) throws -> BPETokenizer {
        let types = [Int](repeating: 1, count: 256) + (extraTypes ?? [Int](repeating: 1, count: extra.count))
        return try BPETokenizer(
            tokens: byteTokens + extra, merges: merges, tokenTypes: types, bosID: bosID, eosID: nil,
            preTokenizer: preTokenizer, addBOS: addBOS)
    }

    static func byte(_ character: Character) -> Int {
        Int(character.asciiValue!)  // !-safe: the tests pass ASCII characters only.
    }

    // MARK: Merges

    @Test func lowerRankMergesFirst() throws {
        // "b c" has rank 0, so "abc" merges to a + bc before "a b" could apply.
        let tokenizer = try Self.makeTokenizer(extra: ["ab", "bc", "abc"], merges: ["b c", "a b", "a bc"])
        #expect(tokenizer.encode("abc") == [258])

        let leftFirst = try Self.makeTokenizer(extra: ["ab", "bc", "abc"], merges: ["a b", "b c", "ab c"])
        #expect(leftFirst.encode("abc") == [258])
        #expect(leftFirst.encode("bc") == [257])
    }

    @Test func equalRanksMergeLeftmostFirst() throws {
        let tokenizer = try Self.makeTokenizer(extra: ["aa"], merges: ["a a"])
        #expect(tokenizer.encode("aaa") == [256, Self.byte("a")])
        #expect(tokenizer.encode("aaaa") == [256, 256])
    }

    @Test func mergeOnlyAppliesToItsPair() throws {
        let tokenizer = try Self.makeTokenizer(extra: ["ab"], merges: ["a b"])
        #expect(tokenizer.encode("ba") == [Self.byte("b"), Self.byte("a")])
    }

    @Test func mergesStayInsideWords() throws {
        // "a" and " b" are separate words, so "a Ġ" never gets to merge.
        let tokenizer = try Self.makeTokenizer(extra: ["aĠ", "Ġb"], merges: ["a Ġ", "Ġ b"])
        #expect(tokenizer.encode("a b") == [Self.byte("a"), 257])
    }

    @Test func spaceMapsToGAlphabet() throws {
        let tokenizer = try Self.makeTokenizer()
        #expect(tokenizer.encode(" \n") == [0x20, 0x0A])
        #expect(tokenizer.piece(0x20) == [0x20])
        #expect(Self.byteTokens[0x20] == "Ġ")
        #expect(Self.byteTokens[0x0A] == "Ċ")
    }

    @Test func mergeResultOutsideVocabularyFallsBackToBytes() throws {
        // "x y" merges into "xy", which is not a token; llama.cpp then emits the one-byte tokens "x" and "y".
        let tokenizer = try Self.makeTokenizer(merges: ["x y"])
        #expect(tokenizer.encode("xy") == [Self.byte("x"), Self.byte("y")])
    }

    @Test func missingByteTokenIsDropped() throws {
        // Without the token for byte 0xC3 ("Ã"), llama.cpp finds no one-byte token for its two UTF-8 bytes.
        var tokens = Self.byteTokens
        tokens[0xC3] = "<unused-c3>"
        let tokenizer = try BPETokenizer(
            tokens: tokens, merges: [], tokenTypes: [], bosID: nil, eosID: nil, preTokenizer: "smollm",
            addBOS: false)
        #expect(tokenizer.encode("é") == [0xA9])
        #expect(tokenizer.bytesWithoutToken == [0xC3])
    }

    // MARK: Special tokens

    @Test func controlTokenParsedOnlyWhenAsked() throws {
        let tokenizer = try Self.makeTokenizer(extra: ["<|end|>"], extraTypes: [3])
        #expect(tokenizer.encode("a<|end|>b") == [Self.byte("a"), 256, Self.byte("b")])
        let literal = tokenizer.encode("a<|end|>", parseSpecial: false)
        #expect(literal.count == 8)
        #expect(!literal.contains(256))
        #expect(tokenizer.decodeBytes(literal) == Array("a<|end|>".utf8))
    }

    @Test func userDefinedTokenAlwaysParsed() throws {
        let tokenizer = try Self.makeTokenizer(extra: ["<tool>"], extraTypes: [4])
        #expect(tokenizer.encode("<tool>", parseSpecial: false) == [256])
        #expect(tokenizer.encode("<tool>", parseSpecial: true) == [256])
    }

    @Test func longerSpecialTokenWins() throws {
        let tokenizer = try Self.makeTokenizer(extra: ["<a>", "<a><b>"], extraTypes: [3, 3])
        #expect(tokenizer.encode("<a><b><a>") == [257, 256])
    }

    @Test func adjacentSpecialTokensSplitText() throws {
        let tokenizer = try Self.makeTokenizer(extra: ["<s>"], extraTypes: [3])
        #expect(tokenizer.encode("<s><s>x<s>") == [256, 256, Self.byte("x"), 256])
    }

    @Test func specialTokenSplitsPreTokenizerContext() throws {
        // In "  x" the pre-tokenizer leaves one space for " x", so "Ġ Ġ" cannot merge. After a special token
        // cuts the text, "  " is a fragment of its own and its two spaces merge.
        let tokenizer = try Self.makeTokenizer(extra: ["<s>", "ĠĠ"], extraTypes: [3, 1], merges: ["Ġ Ġ"])
        #expect(tokenizer.encode("  x") == [0x20, 0x20, Self.byte("x")])
        #expect(tokenizer.encode("  <s>x") == [257, 256, Self.byte("x")])
    }

    @Test func encodeNeverAddsBOS() throws {
        let tokenizer = try Self.makeTokenizer(extra: ["<s>"], extraTypes: [3], bosID: 256, addBOS: true)
        #expect(tokenizer.addBOS)
        #expect(tokenizer.bosID == 256)
        #expect(tokenizer.encode("a") == [Self.byte("a")])
        #expect(tokenizer.encode("") == [])
        #expect(tokenizer.encode("<s>a") == [256, Self.byte("a")])
    }

    // MARK: Decoding

    @Test func piecesFollowTokenTypes() throws {
        let tokenizer = try Self.makeTokenizer(
            extra: ["<ctl>", "<0x0A>", "<unused>", "ĠhÃ©"], extraTypes: [3, 6, 5, 1])
        #expect(tokenizer.piece(256) == Array("<ctl>".utf8))
        #expect(tokenizer.piece(257) == [0x0A])
        #expect(tokenizer.piece(258) == [])
        #expect(tokenizer.piece(259) == Array(" hé".utf8))
        #expect(tokenizer.isControl(256))
        #expect(!tokenizer.isControl(257))
    }

    @Test func decodeReplacesInvalidUTF8() throws {
        let tokenizer = try Self.makeTokenizer()
        #expect(tokenizer.decodeBytes([0xC3]) == [0xC3])
        #expect(tokenizer.decode([0xC3]) == "\u{FFFD}")
        #expect(tokenizer.decode([0xC3, 0xA9]) == "é")
    }

    @Test func invalidInputEncodesReplacement() throws {
        let tokenizer = try Self.makeTokenizer()
        #expect(tokenizer.encode(bytes: [0xFF]) == [0xEF, 0xBF, 0xBD])
        #expect(tokenizer.encode(bytes: [0xC0, 0xAF]) == [0x2F])
    }

    // MARK: Argument checks

    @Test func emptyVocabularyIsRejected() {
        #expect(throws: BPETokenizerError.emptyVocabulary) {
            try BPETokenizer(
                tokens: [], merges: [], tokenTypes: [], bosID: nil, eosID: nil, preTokenizer: "smollm",
                addBOS: false)
        }
    }

    @Test func tokenTypeCountIsChecked() {
        #expect(throws: BPETokenizerError.tokenTypeCountMismatch(tokens: 2, tokenTypes: 1)) {
            try BPETokenizer(
                tokens: ["a", "b"], merges: [], tokenTypes: [1], bosID: nil, eosID: nil, preTokenizer: "smollm",
                addBOS: false)
        }
    }

    @Test func specialIDRangeIsChecked() {
        #expect(throws: BPETokenizerError.specialTokenOutOfRange(role: "EOS", id: 2, vocabularySize: 2)) {
            try BPETokenizer(
                tokens: ["a", "b"], merges: [], tokenTypes: [], bosID: 0, eosID: 2, preTokenizer: "smollm",
                addBOS: false)
        }
    }

    @Test func unsupportedPreTokenizerIsRejected() throws {
        let error = #expect(throws: BPETokenizerError.self) {
            try Self.makeTokenizer(preTokenizer: "qwen2")
        }
        let message = try #require(error).description
        #expect(message.contains("'qwen2'"))
        #expect(message.contains("smollm"))
    }
}
