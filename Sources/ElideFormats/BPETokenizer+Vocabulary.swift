// MARK: - Building the lookup tables

extension BPETokenizer {
    /// Interns the texts that BPE symbols can take: vocabulary entries keep their token id, and any other
    /// text (a merge result or a byte character missing from the vocabulary) gets a synthetic id from
    /// `vocabularySize` up.
    ///
    /// Merging then compares and looks up integers, yet behaves exactly like llama.cpp, which compares the
    /// symbols' texts: two symbols have equal ids exactly when their texts are equal.
    struct SymbolTable {
        private var idForText: [String: Int32]
        private var syntheticTexts: [String] = []
        private let vocabularySize: Int

        init(tokens: [String]) {
            vocabularySize = tokens.count
            idForText = Dictionary(minimumCapacity: tokens.count * 2)
            // A text that appears twice maps to its last id, as in llama.cpp's `token_to_id`.
            for (id, text) in tokens.enumerated() {
                idForText[text] = Int32(id)
            }
        }

        mutating func symbol(for text: String) -> Int32 {
            if let id = idForText[text] { return id }
            let id = Int32(vocabularySize + syntheticTexts.count)
            syntheticTexts.append(text)
            idForText[text] = id
            return id
        }

        /// Returns, for each synthetic symbol, the tokens that llama.cpp emits when it ends up in the output:
        /// the one-byte tokens for those UTF-8 bytes of its text that have one, and nothing for the others.
        func syntheticSymbolTokens() -> [Int32: [Int32]] {
            var result: [Int32: [Int32]] = [:]
            for (offset, text) in syntheticTexts.enumerated() {
                let tokens = text.utf8.compactMap { byte -> Int32? in
                    // A one-byte token text is valid UTF-8, so only ASCII bytes can have one.
                    guard byte < 0x80 else { return nil }
                    return idForText[String(UnicodeScalar(byte))].flatMap { $0 < vocabularySize ? $0 : nil }
                }
                result[Int32(vocabularySize + offset)] = tokens
            }
            return result
        }
    }

    /// Reads merge rules `"left right"`. As in llama.cpp, the first space after the first byte separates the
    /// two sides, and when two rules name the same pair the earlier one wins. A rule without a space is
    /// skipped because it could never apply.
    static func buildMerges(_ rules: [String], table: inout SymbolTable) -> [UInt64: Merge] {
        var merges: [UInt64: Merge] = Dictionary(minimumCapacity: rules.count)
        for (rank, rule) in rules.enumerated() {
            guard let space = rule.utf8.dropFirst().firstIndex(of: 0x20) else { continue }
            let left = String(rule[..<space])
            let right = String(rule[rule.utf8.index(after: space)...])
            let leftSymbol = table.symbol(for: left)
            let rightSymbol = table.symbol(for: right)
            let key = pairKey(leftSymbol, rightSymbol)
            if merges[key] == nil {
                merges[key] = Merge(rank: Int32(rank), merged: table.symbol(for: left + right))
            }
        }
        return merges
    }

    /// Collects the tokens matched as whole tokens in raw text (control, user-defined and unknown types),
    /// longest text first and, among equal lengths, lowest id first.
    static func collectSpecialTokens(tokens: [String], types: [TokenType]) -> [SpecialToken] {
        var special: [SpecialToken] = []
        for (id, type) in types.enumerated() where type == .control || type == .userDefined || type == .unknown {
            let bytes = Array(tokens[id].utf8)
            // An empty text would match everywhere without consuming input.
            guard !bytes.isEmpty else { continue }
            special.append(SpecialToken(id: id, bytes: bytes, alwaysMatched: type == .userDefined))
        }
        // NOTE: llama.cpp sorts by length with an unstable sort, so its order among special tokens of
        // equal length is unspecified. The order matters only when such tokens overlap in the text.
        return special.enumerated()
            .sorted { ($0.element.bytes.count, -$0.offset) > ($1.element.bytes.count, -$1.offset) }
            .map(\.element)
    }

    /// Computes every token's bytes, as llama.cpp's `token_to_piece` renders it with special tokens shown.
    static func buildPieces(tokens: [String], types: [TokenType]) -> (bytes: [UInt8], offsets: [Int]) {
        var bytes: [UInt8] = []
        var offsets: [Int] = [0]
        bytes.reserveCapacity(tokens.count * 6)
        offsets.reserveCapacity(tokens.count + 1)
        for (text, type) in zip(tokens, types) {
            switch type {
            case .normal:
                appendNormalPiece(text, to: &bytes)
            case .control, .userDefined, .unknown:
                bytes.append(contentsOf: text.utf8)
            case .byte:
                bytes.append(byteTokenValue(text))
            case .unused, .undefined:
                break
            }
            offsets.append(bytes.count)
        }
        return (bytes, offsets)
    }

    /// Maps a normal token's text from the GPT-2 alphabet back to bytes. A character outside the alphabet
    /// becomes `[UNK_BYTE_0x<hex of its UTF-8><token text>]`, llama.cpp's marker for it.
    private static func appendNormalPiece(_ text: String, to bytes: inout [UInt8]) {
        for scalar in text.unicodeScalars {
            if let byte = ByteLevel.byte(forCodePoint: scalar.value) {
                bytes.append(byte)
            } else {
                let hex = String(scalar).utf8.map { byte in
                    let digits = String(byte, radix: 16)
                    return digits.count == 1 ? "0" + digits : digits
                }
                bytes.append(contentsOf: "[UNK_BYTE_0x\(hex.joined())\(text)]".utf8)
            }
        }
    }

    /// Returns the value of a byte token such as `<0x0A>`: the hexadecimal digits at offsets 3 and 4, read
    /// as far as they are valid, or 0 when neither is.
    private static func byteTokenValue(_ text: String) -> UInt8 {
        let digits = Array(text.utf8.dropFirst(3).prefix(2))
        var value: UInt8 = 0
        for digit in digits {
            guard let nibble = UInt8(String(UnicodeScalar(digit)), radix: 16) else { break }
            value = value << 4 | nibble
        }
        return value
    }
}
