/// The split of text into words that byte-level BPE then encodes one by one, as llama.cpp does it for the
/// pre-tokenizer named in a GGUF file's `tokenizer.ggml.pre`.
///
/// Two rule sets are implemented, each by hand-written scanning over code point classes rather than by a
/// regular expression:
/// - GPT-2's pattern `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, as
///   llama.cpp's `unicode_regex_split_custom_gpt2` applies it (the contractions are lowercase only).
/// - The same pattern after isolating every `\p{N}` code point as a word of its own (`smollm` and the other
///   names in `isolatedDigitNames`), so `2026` becomes four words.
struct PreTokenizer: Sendable {
    /// Pre-tokenizer names that llama.cpp maps to digit isolation followed by the GPT-2 pattern.
    static let isolatedDigitNames: Set<String> = [
        "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b",
    ]

    /// Pre-tokenizer names that llama.cpp maps to the GPT-2 pattern alone.
    static let gpt2Names: Set<String> = ["gpt-2", "mpt", "olmo", "jais"]

    /// The name from the model file.
    let name: String

    /// Whether each `\p{N}` code point is a word of its own before the GPT-2 pattern applies.
    let isolatesDigits: Bool

    init(name: String) throws(BPETokenizerError) {
        if Self.isolatedDigitNames.contains(name) {
            isolatesDigits = true
        } else if Self.gpt2Names.contains(name) {
            isolatesDigits = false
        } else {
            let supported = Self.isolatedDigitNames.union(Self.gpt2Names).sorted()
            throw .unsupportedPreTokenizer(name: name, supported: supported)
        }
        self.name = name
    }

    /// Splits code points into words, returned as consecutive, non-empty ranges that cover the input.
    func split(_ codePoints: [UInt32]) -> [Range<Int>] {
        let classes = codePoints.map(CharacterClass.init)
        var words: [Range<Int>] = []
        words.reserveCapacity(codePoints.count / 3)
        guard isolatesDigits else {
            splitGPT2(codePoints, classes, in: 0..<codePoints.count, into: &words)
            return words
        }

        var runStart = 0
        for index in classes.indices where classes[index] == .number {
            splitGPT2(codePoints, classes, in: runStart..<index, into: &words)
            words.append(index..<index + 1)
            runStart = index + 1
        }
        splitGPT2(codePoints, classes, in: runStart..<codePoints.count, into: &words)
        return words
    }

    /// Applies the GPT-2 pattern to one range. Nothing outside the range is looked at, so the range end is
    /// the end of the text for the `(?!\S)` look-ahead.
    private func splitGPT2(
        _ codePoints: [UInt32], _ classes: [CharacterClass], in range: Range<Int>, into words: inout [Range<Int>]
    ) {
        let end = range.upperBound
        func classAt(_ index: Int) -> CharacterClass? { index < end ? classes[index] : nil }

        var position = range.lowerBound
        while position < end {
            let start = position
            let codePoint = codePoints[position]

            // 's|'t|'re|'ve|'m|'ll|'d
            if let length = contractionLength(codePoints, at: position, end: end) {
                words.append(start..<start + length)
                position += length
                continue
            }

            // ` ?\p{L}+`, ` ?\p{N}+` and ` ?[^\s\p{L}\p{N}]+`: a run of one class, after an optional space.
            let isSpace = codePoint == 0x20
            let runClass = isSpace ? classAt(position + 1) : classes[position]
            if let runClass, runClass != .whitespace {
                position += isSpace ? 1 : 0
                while classAt(position) == runClass {
                    position += 1
                }
                words.append(start..<position)
                continue
            }

            // `\s+(?!\S)` leaves the last whitespace character for the next word when a non-space follows;
            // otherwise `\s+` takes the whole run.
            var whitespaceCount = 0
            while classAt(position + whitespaceCount) == .whitespace {
                whitespaceCount += 1
            }
            if whitespaceCount > 1 && position + whitespaceCount < end {
                position += whitespaceCount - 1
            } else {
                position += max(whitespaceCount, 1)
            }
            words.append(start..<position)
        }
    }

    /// Returns the length of the English contraction suffix at `index`, if one starts there.
    private func contractionLength(_ codePoints: [UInt32], at index: Int, end: Int) -> Int? {
        guard codePoints[index] == ascii("'"), index + 1 < end else { return nil }
        let first = codePoints[index + 1]
        if first == ascii("s") || first == ascii("t") || first == ascii("m") || first == ascii("d") {
            return 2
        }
        guard index + 2 < end else { return nil }
        let second = codePoints[index + 2]
        switch (first, second) {
        case (ascii("r"), ascii("e")), (ascii("v"), ascii("e")), (ascii("l"), ascii("l")): return 3
        default: return nil
        }
    }
}

private func ascii(_ character: Unicode.Scalar) -> UInt32 {
    character.value
}
