// MARK: - Merging one word

extension BPETokenizer {
    /// Turns words into tokens by applying merge rules, with scratch buffers and a cache of finished words
    /// that live for one `encode` call.
    ///
    /// The rule order matches llama.cpp's `llm_tokenizer_bpe_session`. A priority queue contains every
    /// adjacent pair that has a merge rule, ordered by rule rank and then by the left symbol's position. A
    /// popped pair whose symbols have changed since it was queued is skipped.
    struct WordMerger {
        private struct Symbol {
            /// Symbol id, or -1 once merged into its left neighbour.
            var id: Int32
            var previous: Int32
            var next: Int32
        }

        private struct Candidate {
            var rank: Int32
            var left: Int32
            var right: Int32
            var leftID: Int32
            var rightID: Int32
            var merged: Int32

            func precedes(_ other: Candidate) -> Bool {
                rank != other.rank ? rank < other.rank : left < other.left
            }
        }

        /// Words longer than this are not cached; long runs rarely repeat.
        private static let maxCachedWordBytes = 64
        /// The cache is emptied when it reaches this many words, which bounds its memory on huge inputs.
        private static let maxCachedWords = 1 << 16

        private let merges: [UInt64: Merge]
        private let byteSymbols: [Int32]
        private let syntheticSymbolTokens: [Int32: [Int32]]
        private let vocabularySize: Int32
        private var cache: [ArraySlice<UInt8>: [Int32]] = [:]
        private var symbols: [Symbol] = []
        private var queue: [Candidate] = []
        private var wordTokens: [Int32] = []

        init(tokenizer: BPETokenizer) {
            merges = tokenizer.merges
            byteSymbols = tokenizer.byteSymbols
            syntheticSymbolTokens = tokenizer.syntheticSymbolTokens
            vocabularySize = Int32(tokenizer.vocabularySize)
        }

        /// Appends the tokens of one word, given as its UTF-8 bytes.
        mutating func appendTokens(of word: ArraySlice<UInt8>, to output: inout [Int]) {
            let cacheable = word.count <= Self.maxCachedWordBytes
            if cacheable, let cached = cache[word] {
                output.append(contentsOf: cached.lazy.map(Int.init))
                return
            }

            mergeWord(word)
            output.append(contentsOf: wordTokens.lazy.map(Int.init))
            if cacheable {
                if cache.count >= Self.maxCachedWords {
                    cache.removeAll(keepingCapacity: true)
                }
                cache[word] = wordTokens
            }
        }

        /// Merges one word into `wordTokens`.
        private mutating func mergeWord(_ word: ArraySlice<UInt8>) {
            symbols.removeAll(keepingCapacity: true)
            queue.removeAll(keepingCapacity: true)
            wordTokens.removeAll(keepingCapacity: true)

            // One symbol per byte: each byte is one character of the GPT-2 alphabet.
            for (index, byte) in word.enumerated() {
                let next = index + 1 == word.count ? -1 : Int32(index + 1)
                symbols.append(Symbol(id: byteSymbols[Int(byte)], previous: Int32(index - 1), next: next))
            }
            for index in symbols.indices.dropFirst() {
                queuePair(Int32(index - 1), Int32(index))
            }

            while let candidate = popCandidate() {
                let left = Int(candidate.left)
                let right = Int(candidate.right)
                // A pair is stale when either symbol was merged away or has grown since it was queued.
                guard symbols[left].id == candidate.leftID, symbols[right].id == candidate.rightID,
                    symbols[left].next == candidate.right
                else { continue }

                symbols[left].id = candidate.merged
                symbols[left].next = symbols[right].next
                symbols[right].id = -1
                if symbols[right].next >= 0 {
                    symbols[Int(symbols[right].next)].previous = candidate.left
                }
                queuePair(symbols[left].previous, candidate.left)
                queuePair(candidate.left, symbols[left].next)
            }

            var index: Int32 = symbols.isEmpty ? -1 : 0
            while index >= 0 {
                let symbol = symbols[Int(index)]
                if symbol.id < vocabularySize {
                    wordTokens.append(symbol.id)
                } else {
                    // A merge result that is not a vocabulary token: llama.cpp falls back to one-byte tokens.
                    wordTokens.append(contentsOf: syntheticSymbolTokens[symbol.id] ?? [])
                }
                index = symbol.next
            }
        }

        private mutating func queuePair(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let leftID = symbols[Int(left)].id
            let rightID = symbols[Int(right)].id
            guard let merge = merges[pairKey(leftID, rightID)] else { return }
            pushCandidate(
                Candidate(
                    rank: merge.rank, left: left, right: right, leftID: leftID, rightID: rightID, merged: merge.merged))
        }

        // MARK: Binary min-heap over `queue`

        private mutating func pushCandidate(_ candidate: Candidate) {
            queue.append(candidate)
            var child = queue.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard queue[child].precedes(queue[parent]) else { break }
                queue.swapAt(child, parent)
                child = parent
            }
        }

        private mutating func popCandidate() -> Candidate? {
            guard let top = queue.first else { return nil }
            let last = queue.removeLast()
            guard !queue.isEmpty else { return top }
            queue[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < queue.count && queue[left].precedes(queue[smallest]) { smallest = left }
                if right < queue.count && queue[right].precedes(queue[smallest]) { smallest = right }
                guard smallest != parent else { break }
                queue.swapAt(parent, smallest)
                parent = smallest
            }
            return top
        }
    }
}
