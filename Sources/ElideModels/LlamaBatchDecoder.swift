import ElideTensor

/// Decodes several sequences together: each decode step takes one token per active sequence and runs
/// every matrix product of every layer once over all of them, so the weights are read once per step
/// instead of once per sequence.
///
/// Each sequence keeps its own `LlamaSession` (KV cache and position, prefilled on its own with
/// `LlamaSession.forward`) and its own `FeedForwardSkipper`, so sequences at different positions skip
/// different FFN blocks. Attention runs per sequence against that sequence's cache. `FeedForwardStrategy`
/// chooses how a layer's FFN treats a batch in which only some rows run it.
///
/// With `.q8` activations the quantized products compute each output element with the same order of
/// operations whatever the number of rows, so a batched step gives bit-identical logits to one
/// `LlamaSession.decode` step per sequence. With `.f32` activations, steps of
/// `Kernels.blasTokenThreshold` rows or more multiply through OpenBLAS, whose sums run in another order,
/// so the logits differ from single-sequence decoding by rounding.
///
/// The decoder writes to the sessions' caches and positions. Use each session from one thread, and
/// through one decoder or its own methods at a time.
public final class LlamaBatchDecoder: @unchecked Sendable {
    /// The arrangement of a layer's FFN products when some rows of the batch skip the block.
    public enum FeedForwardStrategy: String, Sendable, CaseIterable {
        /// Multiply all active rows, then add the FFN output only to the rows that run the block. The
        /// products always cover the whole batch, and a row that skips wastes its share of them.
        case maskedRows = "masked"
        /// Gather the rows that run the block into a compact batch, multiply it, and add the outputs back
        /// to those rows. A layer where every row skips runs no product at all.
        case regrouped
    }

    /// Counts of the FFN work over the decode steps so far, to explain the speed of a strategy.
    public struct Statistics: Sendable, Hashable {
        /// (step, layer) pairs whose FFN block the mask keeps.
        public var feedForwardBlocks = 0
        /// Blocks that ran their matrix products on at least one row.
        public var feedForwardProducts = 0
        /// Rows multiplied by FFN weights, summed over blocks; masked rows count even when they skip.
        public var feedForwardRows = 0
        /// Rows that skipped a block, summed over blocks.
        public var skippedRows = 0

        public init() {}

        /// Adds the counts of `other` to these.
        public mutating func add(_ other: Statistics) {
            feedForwardBlocks += other.feedForwardBlocks
            feedForwardProducts += other.feedForwardProducts
            feedForwardRows += other.feedForwardRows
            skippedRows += other.skippedRows
        }
    }

    public let model: LlamaModel
    /// One session per sequence; row order in `decode(_:onLogits:)` follows this order.
    public let sessions: [LlamaSession]
    public let strategy: FeedForwardStrategy
    public let precision: ActivationPrecision
    /// Sub-blocks to run, shared by every session.
    public let mask: SubBlockMask
    /// The pool of the first session, used for every product.
    public let pool: ThreadPool
    /// The skip state of each sequence; nil runs every FFN block of that sequence.
    public internal(set) var skippers: [FeedForwardSkipper?]
    public internal(set) var statistics = Statistics()

    let scratch: LlamaBatchScratch

    /// Creates a decoder over `sessions`, which must share one model, precision and mask.
    /// - Parameters:
    ///   - sessions: one per sequence, each already prefilled (or empty, to decode from an empty cache).
    ///   - skippers: one per session, or nil for a session that never skips; empty means none skips.
    public init(sessions: [LlamaSession], skippers: [FeedForwardSkipper?] = [], strategy: FeedForwardStrategy) {
        precondition(!sessions.isEmpty, "a batch decoder needs at least one session")
        let first = sessions[0]
        for (index, session) in sessions.enumerated() {
            precondition(session.model === first.model, "session \(index) uses another model than session 0")
            precondition(
                session.precision == first.precision,
                "session \(index) uses \(session.precision) activations, session 0 uses \(first.precision)")
            precondition(session.mask == first.mask, "session \(index) has another sub-block mask than session 0")
        }
        precondition(
            skippers.isEmpty || skippers.count == sessions.count,
            "\(skippers.count) skippers for \(sessions.count) sessions; pass one per session or none")
        self.model = first.model
        self.sessions = sessions
        self.strategy = strategy
        self.precision = first.precision
        self.mask = first.mask
        self.pool = first.pool
        self.skippers = skippers.isEmpty ? Array(repeating: nil, count: sessions.count) : skippers
        self.scratch = LlamaBatchScratch(
            configuration: first.model.configuration, rows: sessions.count,
            capacity: sessions.map(\.capacity).max()!)  // !-safe: sessions is not empty.
    }

    /// Runs one decode step: appends `tokens[i]` to sequence `i` for every non-nil entry, lets each
    /// sequence's skipper choose its FFN blocks, and passes the next-token logits of each active sequence
    /// to `onLogits(sequence, logits)` (the buffer is valid only during the call).
    /// - Parameter tokens: one entry per session; nil leaves that sequence untouched in this step.
    /// - Returns: per session, the layers whose FFN block this step skipped, in order; nil for a sequence
    ///   that took no token.
    @discardableResult
    public func decode(
        _ tokens: [Int?], onLogits: (_ sequence: Int, _ logits: UnsafeBufferPointer<Float>) -> Void = { _, _ in }
    ) -> [[Int]?] {
        precondition(
            tokens.count == sessions.count, "\(tokens.count) tokens for \(sessions.count) sequences; pass one each")
        let active = tokens.indices.filter { tokens[$0] != nil }
        guard !active.isEmpty else { return tokens.map { _ in nil } }
        let configuration = model.configuration
        let width = configuration.embeddingLength

        // Row r of every scratch buffer belongs to sequence active[r].
        for (row, sequence) in active.enumerated() {
            let session = sessions[sequence]
            let token = tokens[sequence]!  // !-safe: active holds only non-nil entries.
            precondition(
                session.position < session.capacity,
                "sequence \(sequence) is at its cache capacity \(session.capacity); stop decoding it or reset it")
            precondition(
                token >= 0 && token < configuration.vocabularySize,
                "token id \(token) of sequence \(sequence) is outside the vocabulary")
            model.tokenEmbedding.dequantizeRow(token, into: scratch.hidden + row * width)
            Kernels.ropeTable(
                position: session.position, base: configuration.ropeBase, headDim: configuration.headDimension,
                into: scratch.ropeTables + row * configuration.headDimension)
            skippers[sequence]?.beginToken()
        }

        for index in model.layers.indices {
            let layer = model.layers[index]
            if mask.attentionKept[index] {
                attentionBlock(layer, index: index, sequences: active)
            }
            if mask.mlpKept[index] {
                feedForwardBlock(layer, index: index, sequences: active)
            }
        }

        for sequence in active { sessions[sequence].advance(by: 1) }
        emitLogits(sequences: active, onLogits: onLogits)

        var skipped = [[Int]?](repeating: nil, count: sessions.count)
        for sequence in active {
            skipped[sequence] = skippers[sequence]?.endToken() ?? []
        }
        return skipped
    }

    /// Computes the output logits of every active row with one product over the output head.
    private func emitLogits(sequences: [Int], onLogits: (Int, UnsafeBufferPointer<Float>) -> Void) {
        let configuration = model.configuration
        let width = configuration.embeddingLength
        let vocabulary = configuration.vocabularySize
        for row in sequences.indices {
            Kernels.rmsNorm(
                scratch.hidden + row * width, weight: model.outputNorm, count: width,
                epsilon: configuration.rmsEpsilon, into: scratch.normed + row * width)
        }
        Kernels.matmul(
            model.output, scratch.normed, tokens: sequences.count, scratch.logits, precision: precision, pool: pool)
        for (row, sequence) in sequences.enumerated() {
            onLogits(sequence, UnsafeBufferPointer(start: scratch.logits + row * vocabulary, count: vocabulary))
        }
    }
}

/// Preallocated activations for one row per sequence, so a decode step allocates no activation buffer.
final class LlamaBatchScratch {
    let hidden: UnsafeMutablePointer<Float>  // (rows, width)
    let normed: UnsafeMutablePointer<Float>  // (rows, width)
    let query: UnsafeMutablePointer<Float>  // (rows, width)
    let key: UnsafeMutablePointer<Float>  // (rows, kvWidth)
    let value: UnsafeMutablePointer<Float>  // (rows, kvWidth)
    let attention: UnsafeMutablePointer<Float>  // (rows, width)
    let projected: UnsafeMutablePointer<Float>  // (rows, width)
    let gate: UnsafeMutablePointer<Float>  // (rows, ffn)
    let up: UnsafeMutablePointer<Float>  // (rows, ffn)
    /// Residual states before an FFN block, kept for the rows that measure the skip cosine.
    let feedForwardInput: UnsafeMutablePointer<Float>  // (rows, width)
    let ropeTables: UnsafeMutablePointer<Float>  // (rows, headDimension)
    /// Attention scores, one row of `capacity` floats per (row, head) work item.
    let scores: UnsafeMutablePointer<Float>  // (rows × heads, capacity)
    /// fp16-rounded copies of the query heads, one per (row, head) work item.
    let roundedQueries: UnsafeMutablePointer<Float>  // (rows × heads, headDimension)
    let logits: UnsafeMutablePointer<Float>  // (rows, vocabulary)
    let capacity: Int
    private var all: [UnsafeMutablePointer<Float>] = []

    init(configuration: LlamaConfiguration, rows: Int, capacity: Int) {
        let width = configuration.embeddingLength
        let kvWidth = configuration.kvDimension
        let ffn = configuration.feedForwardLength
        let workItems = rows * configuration.headCount
        self.capacity = capacity

        func make(_ count: Int) -> UnsafeMutablePointer<Float> {
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            buffer.initialize(repeating: 0, count: count)
            return buffer
        }
        hidden = make(rows * width)
        normed = make(rows * width)
        query = make(rows * width)
        key = make(rows * kvWidth)
        value = make(rows * kvWidth)
        attention = make(rows * width)
        projected = make(rows * width)
        gate = make(rows * ffn)
        up = make(rows * ffn)
        feedForwardInput = make(rows * width)
        ropeTables = make(rows * configuration.headDimension)
        scores = make(workItems * capacity)
        roundedQueries = make(workItems * configuration.headDimension)
        logits = make(rows * configuration.vocabularySize)
        all = [
            hidden, normed, query, key, value, attention, projected, gate, up, feedForwardInput, ropeTables, scores,
            roundedQueries, logits,
        ]
    }

    deinit {
        for buffer in all { buffer.deallocate() }
    }
}
