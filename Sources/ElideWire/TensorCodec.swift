/// Splits tensors into `TensorChunk` messages of at most 4 MiB of data and compresses them with zstd where
/// that pays.
///
/// Compression is decided once per tensor on a sample, then checked per chunk: a chunk keeps its zstd form
/// only when that saves at least `minimumSaving` of its size. Float32 data often saves too little to pass,
/// while int8 and zero-heavy data shrink much more. Tensors under the size threshold are never compressed.
public struct TensorCodec: Sendable {
    public enum CompressionPolicy: Sendable, Equatable {
        /// Send every chunk raw.
        case never
        /// Compress tensors of at least `minimumBytes` whose sample shrinks by `minimumSaving` or more.
        case automatic(minimumBytes: Int)
        /// Compress every non-empty chunk and keep the result whenever it is smaller than the raw chunk.
        case always
    }

    /// Raw bytes per chunk; at most `WireProtocol.maxChunkBytes` (4 MiB), the default.
    public var chunkBytes: Int
    /// Default: `.automatic(minimumBytes: 64 KiB)`.
    public var compression: CompressionPolicy
    /// zstd level; default 1, the fastest standard level.
    public var zstdLevel: Int32
    /// Smallest fraction of its size that compression must save to be used; default 0.05.
    public var minimumSaving: Double
    /// Bytes compressed to decide whether a tensor is worth compressing; default 256 KiB.
    /// The sample is four evenly spaced slices, so a header or padding at one end does not decide alone.
    public var sampleBytes: Int

    public init(
        chunkBytes: Int = WireProtocol.maxChunkBytes,
        compression: CompressionPolicy = .automatic(minimumBytes: 64 << 10),
        zstdLevel: Int32 = 1, minimumSaving: Double = 0.05, sampleBytes: Int = 256 << 10
    ) {
        precondition(
            (1...WireProtocol.maxChunkBytes).contains(chunkBytes),
            "chunkBytes must be from 1 to \(WireProtocol.maxChunkBytes), got \(chunkBytes)")
        precondition((0..<1).contains(minimumSaving), "minimumSaving must be in [0, 1), got \(minimumSaving)")
        self.chunkBytes = chunkBytes
        self.compression = compression
        self.zstdLevel = zstdLevel
        self.minimumSaving = minimumSaving
        self.sampleBytes = sampleBytes
    }

    /// Splits `tensor` into its chunks, in order. A tensor of 0 bytes still yields one empty chunk.
    public func chunks(of tensor: WireTensor, tensorID: String) -> [WireMessage.TensorChunk] {
        var chunks: [WireMessage.TensorChunk] = []
        forEachChunk(of: tensor, tensorID: tensorID) { chunks.append($0) }
        return chunks
    }

    /// Calls `body` with each chunk of `tensor` in order, so a sender keeps one chunk in memory at a time.
    public func forEachChunk(
        of tensor: WireTensor, tensorID: String, _ body: (WireMessage.TensorChunk) throws -> Void
    ) rethrows {
        try forEachEncodedChunk(of: tensor, tensorID: tensorID) { chunk, data in
            var chunk = chunk
            chunk.data = Array(data)
            try body(chunk)
        }
    }

    /// Calls `body` with each chunk's fields and, separately, its data: a slice of the tensor for raw chunks,
    /// so `FramedConnection.sendTensor` packs them without an intermediate copy. The chunk's `data` is empty.
    func forEachEncodedChunk(
        of tensor: WireTensor, tensorID: String,
        _ body: (WireMessage.TensorChunk, UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        let total = tensor.bytes.count
        let chunkCount = max(1, (total + chunkBytes - 1) / chunkBytes)
        try tensor.bytes.withUnsafeBytes { all in
            let compressTensor = shouldCompress(all)
            for index in 0..<chunkCount {
                let start = index * chunkBytes
                let raw = UnsafeRawBufferPointer(rebasing: all[start..<min(start + chunkBytes, total)])
                let header = WireMessage.TensorChunk(
                    tensorID: tensorID, dtype: tensor.dtype, shape: tensor.shape, chunkIndex: index,
                    chunkCount: chunkCount, totalBytes: total, compression: .none, rawLength: raw.count, data: [])
                if compressTensor, let compressed = compressedChunk(raw) {
                    var zstdHeader = header
                    zstdHeader.compression = .zstd
                    try compressed.withUnsafeBytes { try body(zstdHeader, $0) }
                } else {
                    try body(header, raw)
                }
            }
        }
    }

    /// Decides whether a tensor's chunks should be compressed, from the policy and a sample of `bytes`.
    public func shouldCompress(_ bytes: UnsafeRawBufferPointer) -> Bool {
        switch compression {
        case .never:
            return false
        case .always:
            return true
        case .automatic(let minimumBytes):
            guard bytes.count >= max(minimumBytes, 1) else { return false }
            let sample = Self.sample(bytes, size: sampleBytes)
            guard let compressed = sample.withUnsafeBytes({ Zstd.compress($0, level: zstdLevel) }) else { return false }
            return saves(compressed: compressed.count, raw: sample.count)
        }
    }

    /// Returns the zstd form of `raw` when the policy keeps it, nil to send the chunk raw.
    private func compressedChunk(_ raw: UnsafeRawBufferPointer) -> [UInt8]? {
        guard raw.count > 0, let compressed = Zstd.compress(raw, level: zstdLevel) else { return nil }
        let keep =
            compression == .always ? compressed.count < raw.count : saves(compressed: compressed.count, raw: raw.count)
        return keep ? compressed : nil
    }

    private func saves(compressed: Int, raw: Int) -> Bool {
        Double(compressed) <= Double(raw) * (1 - minimumSaving)
    }

    /// Four evenly spaced slices of `bytes`, `size` bytes in all (or all of `bytes` when it is smaller).
    static func sample(_ bytes: UnsafeRawBufferPointer, size: Int) -> [UInt8] {
        guard bytes.count > size else { return Array(bytes) }
        let slices = 4
        let sliceBytes = max(1, size / slices)
        let spacing = (bytes.count - sliceBytes) / (slices - 1)
        var sample: [UInt8] = []
        sample.reserveCapacity(sliceBytes * slices)
        for slice in 0..<slices {
            let start = slice * spacing
            sample.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<start + sliceBytes]))
        }
        return sample
    }
}
