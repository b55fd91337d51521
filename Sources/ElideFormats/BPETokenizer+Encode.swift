// MARK: - Encoding

extension BPETokenizer {
    /// A piece of the input after special tokens have been cut out.
    enum Fragment: Equatable {
        /// Bytes of the input still to be pre-tokenized and merged.
        case text(Range<Int>)
        /// A special token matched as a whole.
        case token(Int)
    }

    /// Encodes text into token ids.
    ///
    /// The result never starts with an added BOS token. A caller that wants llama.cpp's `add_special`
    /// behaviour prepends `bosID` when `addBOS` is true.
    ///
    /// - Parameter parseSpecial: Whether the literal text of a control token (such as `<|im_start|>`) becomes
    ///   that token. When false it is encoded as ordinary text; user-defined tokens are matched either way.
    public func encode(_ text: String, parseSpecial: Bool = true) -> [Int] {
        encode(bytes: Array(text.utf8), parseSpecial: parseSpecial)
    }

    /// Encodes arbitrary bytes into token ids, with no BOS token added (see `encode(_:parseSpecial:)`).
    ///
    /// Invalid UTF-8 is read as llama.cpp reads it. Each byte that starts no readable sequence is read as
    /// U+FFFD and encoded as the bytes `EF BF BD`, and overlong forms are encoded in their shortest form.
    /// `BPETokenizer.sanitizedUTF8(_:)` returns those bytes; decoding the result gives them back, less any
    /// byte in `bytesWithoutToken` that no merge absorbed.
    public func encode(bytes: [UInt8], parseSpecial: Bool = true) -> [Int] {
        var output: [Int] = []
        output.reserveCapacity(bytes.count / 3 + 1)

        var merger = WordMerger(tokenizer: self)
        for fragment in partition(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id):
                output.append(id)
            case .text(let range):
                encodeFragment(bytes[range], merger: &merger, into: &output)
            }
        }
        return output
    }

    /// Cuts special tokens out of the input, as llama.cpp's `tokenizer_st_partition` does: each special
    /// token in turn, longest first, splits every text fragment left at each of its occurrences.
    func partition(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        guard !bytes.isEmpty else { return [] }
        var fragments: [Fragment] = [.text(0..<bytes.count)]
        for special in specialTokens where parseSpecial || special.alwaysMatched {
            var next: [Fragment] = []
            next.reserveCapacity(fragments.count)
            for fragment in fragments {
                guard case .text(let range) = fragment else {
                    next.append(fragment)
                    continue
                }
                var start = range.lowerBound
                while let match = firstOccurrence(of: special.bytes, in: bytes, range: start..<range.upperBound) {
                    if match > start {
                        next.append(.text(start..<match))
                    }
                    next.append(.token(special.id))
                    start = match + special.bytes.count
                }
                if start < range.upperBound {
                    next.append(.text(start..<range.upperBound))
                }
            }
            fragments = next
        }
        return fragments
    }

    /// Decodes one text fragment into code points, splits it into words and appends each word's tokens.
    private func encodeFragment(_ bytes: ArraySlice<UInt8>, merger: inout WordMerger, into output: inout [Int]) {
        let codePoints = PreTokenizer.decodeCodePoints(bytes)

        // The UTF-8 of the code points, with the offset where each code point starts. It differs from the
        // input only where the input is not valid UTF-8.
        var utf8: [UInt8] = []
        utf8.reserveCapacity(bytes.count + 8)
        var offsets: [Int] = []
        offsets.reserveCapacity(codePoints.count + 1)
        for codePoint in codePoints {
            offsets.append(utf8.count)
            PreTokenizer.appendUTF8(codePoint, to: &utf8)
        }
        offsets.append(utf8.count)

        for word in preTokenizer.split(codePoints) {
            let wordBytes = utf8[offsets[word.lowerBound]..<offsets[word.upperBound]]
            merger.appendTokens(of: wordBytes, to: &output)
        }
    }

    /// Returns the index of the first occurrence of `needle` that lies entirely inside `range` of `haystack`.
    private func firstOccurrence(of needle: [UInt8], in haystack: [UInt8], range: Range<Int>) -> Int? {
        guard let first = needle.first, needle.count <= range.count else { return nil }
        let lastStart = range.upperBound - needle.count
        var index = range.lowerBound
        while index <= lastStart {
            if haystack[index] == first && haystack[index..<index + needle.count].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }
}
