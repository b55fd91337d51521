/// A byte-level BPE tokenizer (the `gpt2` tokenizer model of GGUF files) that produces the same token ids as
/// llama.cpp's `llama_tokenize` for the same vocabulary, merges, token types and pre-tokenizer.
///
/// Encoding runs in four steps, as in llama.cpp:
/// 1. Special tokens are cut out of the raw bytes as whole tokens.
/// 2. Each remaining fragment is read as code points, and invalid bytes become U+FFFD.
/// 3. The pre-tokenizer splits the code points into words.
/// 4. Each word's UTF-8 bytes are merged pairwise until no merge rule applies, lowest merge rank first and
///    leftmost first among equal ranks.
///
/// Decoding concatenates each token's bytes: the GPT-2 alphabet mapped back to bytes for normal tokens, and
/// the literal text for control, user-defined and unknown tokens.
///
/// What survives a round trip: `decodeBytes(encode(bytes: b))` equals `BPETokenizer.sanitizedUTF8(b)`
/// (which is `b` itself for valid UTF-8) except where the vocabulary lacks the one-character token of a
/// byte value (`bytesWithoutToken`). llama.cpp drops such a byte from its output when no merge absorbs it,
/// and so does this type. SmolLM2's vocabulary lacks 21 byte values and no merge rule involves them, so for
/// that model the round trip returns `sanitizedUTF8(b)` with those bytes removed. Of the 21, only the
/// controls 0x04, 0x06, 0x13, 0x14, 0x16, 0x1D and the lead bytes 0xF1, 0xF2 (code points
/// U+40000...U+BFFFF) can occur in sanitized text.
///
/// Token ids are `Int` in the interface and `Int32` inside, which limits the vocabulary plus the texts that
/// merge rules introduce to 2^31 entries.
public final class BPETokenizer: Sendable {
    /// Token type codes of GGUF's `tokenizer.ggml.token_type`, as llama.cpp defines them.
    enum TokenType: Int {
        case undefined = 0
        case normal = 1
        case unknown = 2
        case control = 3
        case userDefined = 4
        case unused = 5
        case byte = 6
    }

    /// A merge rule that applies to one pair of symbols.
    struct Merge: Sendable {
        /// The rule's index in the merge list; lower ranks merge first.
        let rank: Int32
        /// The symbol of the concatenated text.
        let merged: Int32
    }

    /// A token whose literal text is matched in the raw input before pre-tokenization.
    struct SpecialToken: Sendable {
        let id: Int
        let bytes: [UInt8]
        /// Whether the token is matched even when the caller turns special-token parsing off; true for
        /// user-defined tokens, false for control and unknown tokens.
        let alwaysMatched: Bool
    }

    /// The beginning-of-sequence token id, if the vocabulary has one.
    public let bosID: Int?
    /// The end-of-sequence token id, if the vocabulary has one.
    public let eosID: Int?
    /// The padding token id, if the model file names one.
    public let paddingID: Int?
    /// The unknown-token id, if the model file names one.
    public let unknownID: Int?
    /// Whether the model expects `bosID` before its input (`tokenizer.ggml.add_bos_token`); `encode` does
    /// not add it.
    public let addBOS: Bool
    /// The pre-tokenizer name, such as `smollm`.
    public let preTokenizerName: String
    /// Byte values whose one-character token is missing from the vocabulary, in increasing order. Encoding
    /// drops such a byte unless a merge rule absorbs it into a token, as llama.cpp does.
    public let bytesWithoutToken: [UInt8]

    let preTokenizer: PreTokenizer
    /// Token type of each token id.
    let tokenTypes: [TokenType]
    /// Symbol of each byte value: the id of the byte's one-character token, or a synthetic id when the
    /// vocabulary lacks it.
    let byteSymbols: [Int32]
    /// Merge rules keyed by `pairKey(left, right)`.
    let merges: [UInt64: Merge]
    /// Tokens that llama.cpp emits in place of a synthetic symbol, keyed by the synthetic id (at least
    /// `vocabularySize`).
    let syntheticSymbolTokens: [Int32: [Int32]]
    /// Special tokens, longest text first.
    let specialTokens: [SpecialToken]
    /// The bytes of every token, concatenated; token `i` spans `pieceOffsets[i]..<pieceOffsets[i + 1]`.
    let pieceBytes: [UInt8]
    let pieceOffsets: [Int]

    /// Builds a tokenizer from the tokenizer metadata of a GGUF file.
    ///
    /// - Parameters:
    ///   - tokens: Token texts in the GPT-2 byte-level alphabet (`tokenizer.ggml.tokens`).
    ///   - merges: Merge rules `"left right"`, highest priority first (`tokenizer.ggml.merges`).
    ///   - tokenTypes: Token type codes (`tokenizer.ggml.token_type`): 1 normal, 2 unknown, 3 control,
    ///     4 user-defined, 5 unused, 6 byte. Empty means every token is normal.
    ///   - preTokenizer: The pre-tokenizer name (`tokenizer.ggml.pre`), such as `smollm`.
    ///   - addBOS: Whether the model expects `bosID` before its input (`tokenizer.ggml.add_bos_token`).
    /// - Throws: `BPETokenizerError` when the vocabulary is empty, the lists disagree in length, a special
    ///   token id is out of range, or the pre-tokenizer is not supported.
    public init(
        tokens: [String], merges: [String], tokenTypes: [Int], bosID: Int?, eosID: Int?,
        paddingID: Int? = nil, unknownID: Int? = nil, preTokenizer: String, addBOS: Bool
    ) throws(BPETokenizerError) {
        guard !tokens.isEmpty else { throw .emptyVocabulary }
        guard tokenTypes.isEmpty || tokenTypes.count == tokens.count else {
            throw .tokenTypeCountMismatch(tokens: tokens.count, tokenTypes: tokenTypes.count)
        }
        // Symbols are Int32; each merge rule introduces at most three texts, and each byte one.
        precondition(
            tokens.count + 3 * merges.count + 256 <= Int(Int32.max),
            "\(tokens.count) tokens and \(merges.count) merges exceed the Int32 symbol range")
        let roles = [("BOS", bosID), ("EOS", eosID), ("padding", paddingID), ("unknown", unknownID)]
        for case let (role, id?) in roles where !tokens.indices.contains(id) {
            throw .specialTokenOutOfRange(role: role, id: id, vocabularySize: tokens.count)
        }

        self.bosID = bosID
        self.eosID = eosID
        self.paddingID = paddingID
        self.unknownID = unknownID
        self.addBOS = addBOS
        self.preTokenizerName = preTokenizer
        self.preTokenizer = try PreTokenizer(name: preTokenizer)

        let types =
            tokenTypes.isEmpty
            ? [TokenType](repeating: .normal, count: tokens.count)
            : tokenTypes.map { TokenType(rawValue: $0) ?? .undefined }
        self.tokenTypes = types

        var table = SymbolTable(tokens: tokens)
        let byteSymbols = (0...255).map { table.symbol(for: ByteLevel.character(forByte: UInt8($0))) }
        self.byteSymbols = byteSymbols
        self.bytesWithoutToken = (0...255).filter { byteSymbols[$0] >= tokens.count }.map(UInt8.init)
        self.merges = Self.buildMerges(merges, table: &table)
        self.syntheticSymbolTokens = table.syntheticSymbolTokens()
        self.specialTokens = Self.collectSpecialTokens(tokens: tokens, types: types)
        (self.pieceBytes, self.pieceOffsets) = Self.buildPieces(tokens: tokens, types: types)
    }

    /// The number of tokens in the vocabulary.
    public var vocabularySize: Int { tokenTypes.count }

    /// Returns whether a token is a control token (token type 3), such as `<|im_start|>` or `<|endoftext|>`.
    public func isControl(_ id: Int) -> Bool {
        checkID(id)
        return tokenTypes[id] == .control
    }

    /// Returns the bytes of a token: the text it encodes for a normal token, the literal token text for
    /// control, user-defined and unknown tokens, and nothing for unused ones.
    public func piece(_ id: Int) -> [UInt8] {
        checkID(id)
        return Array(pieceBytes[pieceOffsets[id]..<pieceOffsets[id + 1]])
    }

    /// Concatenates the bytes of the tokens, exactly, including any invalid UTF-8 they form.
    public func decodeBytes(_ ids: [Int]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids {
            checkID(id)
            bytes.append(contentsOf: pieceBytes[pieceOffsets[id]..<pieceOffsets[id + 1]])
        }
        return bytes
    }

    /// Decodes tokens to text; each invalid UTF-8 sequence in their bytes becomes U+FFFD.
    public func decode(_ ids: [Int]) -> String {
        String(decoding: decodeBytes(ids), as: UTF8.self)
    }

    /// Returns the bytes that llama.cpp's reading of `bytes` keeps, which encoding then preserves apart from
    /// `bytesWithoutToken`. Valid UTF-8 comes back unchanged. Otherwise each byte that starts no readable
    /// sequence becomes `EF BF BD` (U+FFFD), and overlong forms become their shortest form.
    public static func sanitizedUTF8(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        for codePoint in PreTokenizer.decodeCodePoints(bytes) {
            PreTokenizer.appendUTF8(codePoint, to: &result)
        }
        return result
    }

    private func checkID(_ id: Int) {
        precondition(
            tokenTypes.indices.contains(id), "token id \(id) is outside the vocabulary (0..<\(vocabularySize))")
    }

    static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }
}
