import ElideTensor

/// One sequence's decoding state: the KV cache, the scratch buffers, and the options that shape the
/// arithmetic. A session is used by one thread at a time; the model behind it is shared.
public final class LlamaSession: @unchecked Sendable {
    public let model: LlamaModel
    /// Maximum number of positions the KV cache holds.
    public let capacity: Int
    /// Largest number of tokens one forward call processes at once; longer inputs are split.
    public let batchCapacity: Int
    public let precision: ActivationPrecision
    public let pool: ThreadPool
    /// Sub-blocks to run; a layer whose attention is dropped keeps no KV cache.
    public let mask: SubBlockMask
    /// Number of positions already in the cache.
    public private(set) var position = 0
    /// The skip state of the decode step in progress; set only inside `decode(_:skipper:observer:onLogits:)`.
    var activeSkipper: FeedForwardSkipper?

    let keys: [UnsafeMutablePointer<Float>?]
    let values: [UnsafeMutablePointer<Float>?]
    let scratch: LlamaScratch

    /// Creates a session.
    /// - Parameters:
    ///   - capacity: KV cache length in positions; at most the model's context length.
    ///   - batchCapacity: tokens per forward chunk (prefill is split into chunks of this size).
    ///   - precision: `.q8` rounds activations to 8-bit blocks before quantized matrix products and keeps the
    ///     KV cache at fp16 precision, as llama.cpp's CPU backend does; `.f32` keeps activations in Float32.
    public init(
        model: LlamaModel, capacity: Int, batchCapacity: Int = 512, precision: ActivationPrecision = .q8,
        mask: SubBlockMask? = nil, pool: ThreadPool
    ) {
        let configuration = model.configuration
        precondition(capacity > 0 && batchCapacity > 0, "session capacity and batch capacity must be positive")
        let mask = mask ?? .dense(layers: configuration.blockCount)
        precondition(mask.layerCount == configuration.blockCount, "mask covers \(mask.layerCount) layers")
        self.model = model
        self.capacity = capacity
        self.batchCapacity = min(batchCapacity, capacity)
        self.precision = precision
        self.pool = pool
        self.mask = mask

        let cacheCount = capacity * configuration.kvDimension
        keys = mask.attentionKept.map { kept in
            kept ? UnsafeMutablePointer<Float>.allocate(capacity: cacheCount) : nil
        }
        values = mask.attentionKept.map { kept in
            kept ? UnsafeMutablePointer<Float>.allocate(capacity: cacheCount) : nil
        }
        scratch = LlamaScratch(
            configuration: configuration, batch: self.batchCapacity, capacity: capacity, threads: pool.threads)
    }

    deinit {
        for buffer in keys { buffer?.deallocate() }
        for buffer in values { buffer?.deallocate() }
    }

    /// Forgets every cached position so the session can start a new sequence.
    public func reset() { position = 0 }

    /// Drops cached positions from `newPosition` on, so decoding continues from there.
    public func truncate(to newPosition: Int) {
        precondition(newPosition >= 0 && newPosition <= position, "cannot truncate to \(newPosition)")
        position = newPosition
    }

    func advance(by count: Int) { position += count }
}

/// Preallocated activations for one batch of tokens, so the forward pass allocates nothing.
final class LlamaScratch {
    let hidden: UnsafeMutablePointer<Float>
    let normed: UnsafeMutablePointer<Float>
    let query: UnsafeMutablePointer<Float>
    let key: UnsafeMutablePointer<Float>
    let value: UnsafeMutablePointer<Float>
    let attention: UnsafeMutablePointer<Float>
    let projected: UnsafeMutablePointer<Float>
    let gate: UnsafeMutablePointer<Float>
    let up: UnsafeMutablePointer<Float>
    /// One token's residual state before an FFN block, kept to measure FFN skipping's cosine.
    let feedForwardInput: UnsafeMutablePointer<Float>
    /// Attention scores: one row of `capacity` floats for each of `scoreSlots` parallel work items.
    let scores: UnsafeMutablePointer<Float>
    let scoreSlots: Int
    /// RoPE cosines and sines, `headDimension` floats per position of the batch.
    let ropeTables: UnsafeMutablePointer<Float>
    /// Score blocks of the matrix attention path, `blockScoreCapacity` floats per pool thread.
    let blockScores: UnsafeMutablePointer<Float>
    let blockScoreCapacity: Int
    /// Row blocks a batch is split into on the matrix attention path, so both threads share the work.
    static let attentionRowBlocks = 4
    /// Output logits for up to `logitRows` tokens at a time.
    let logits: UnsafeMutablePointer<Float>
    let logitRows: Int
    private var all: [UnsafeMutablePointer<Float>] = []

    init(configuration: LlamaConfiguration, batch: Int, capacity: Int, threads: Int) {
        let width = configuration.embeddingLength
        let kvWidth = configuration.kvDimension
        let ffn = configuration.feedForwardLength
        logitRows = min(batch, 32)
        scoreSlots = configuration.headCount * max(1, min(batch, 4 * threads))

        func make(_ count: Int) -> UnsafeMutablePointer<Float> {
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            buffer.initialize(repeating: 0, count: count)
            return buffer
        }
        hidden = make(batch * width)
        normed = make(batch * width)
        query = make(batch * width)
        key = make(batch * kvWidth)
        value = make(batch * kvWidth)
        attention = make(batch * width)
        projected = make(batch * width)
        gate = make(batch * ffn)
        up = make(batch * ffn)
        feedForwardInput = make(width)
        scores = make(scoreSlots * capacity)
        logits = make(logitRows * configuration.vocabularySize)
        ropeTables = make(batch * configuration.headDimension)
        blockScoreCapacity = (batch + Self.attentionRowBlocks - 1) / Self.attentionRowBlocks * capacity
        blockScores = make(batch >= LlamaSession.matrixAttentionThreshold ? threads * blockScoreCapacity : 1)
        all = [
            hidden, normed, query, key, value, attention, projected, gate, up, feedForwardInput, scores, logits,
            ropeTables, blockScores,
        ]
    }

    deinit {
        for buffer in all { buffer.deallocate() }
    }
}
