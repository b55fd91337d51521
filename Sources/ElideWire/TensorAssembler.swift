/// Joins the `TensorChunk`s of one tensor back into a `WireTensor`.
///
/// Every chunk must repeat the first chunk's id, dtype, shape, chunk count and total size. Indexes must come
/// in order, raw lengths must add up to the total, data must fit the 4 MiB chunk limit, and zstd data must
/// expand to exactly its raw length.
///
/// Keep one assembler per tensor id in flight.
public struct TensorAssembler: Sendable {
    /// Largest tensor accepted, in bytes; the buffer for a tensor is reserved from its first chunk's total.
    public let maxTensorBytes: Int
    private var header: WireMessage.TensorChunk?
    private var bytes: [UInt8] = []
    private var nextIndex = 0
    public private(set) var isComplete = false

    /// - Parameter maxTensorBytes: default 16 GiB.
    public init(maxTensorBytes: Int = 16 << 30) {
        self.maxTensorBytes = maxTensorBytes
    }

    /// The id of the tensor being assembled, once its first chunk arrived.
    public var tensorID: String? { header?.tensorID }

    /// Adds the next chunk; returns the tensor when `chunk` was its last one, nil while more are due.
    public mutating func add(_ chunk: WireMessage.TensorChunk) throws -> WireTensor? {
        try chunk.data.withUnsafeBytes { try add(chunk, data: $0) }
    }

    /// Adds a chunk whose data is given separately (its own `data` is ignored), so a receiver can pass bytes
    /// straight from the unpacked message.
    mutating func add(_ chunk: WireMessage.TensorChunk, data: UnsafeRawBufferPointer) throws -> WireTensor? {
        let tensorID = header?.tensorID ?? chunk.tensorID
        guard !isComplete else { throw TensorCodecError.alreadyComplete(tensorID: tensorID) }
        guard chunk.chunkIndex == nextIndex else {
            throw TensorCodecError.chunkOutOfOrder(
                tensorID: tensorID, expectedIndex: nextIndex, receivedIndex: chunk.chunkIndex)
        }
        if let header {
            try Self.checkConsistent(chunk, with: header)
        } else {
            try start(with: chunk)
        }

        let remaining = chunk.totalBytes - bytes.count
        let rawCount = try appendRawData(of: chunk, data: data, remaining: remaining)
        let isLast = chunk.chunkIndex == chunk.chunkCount - 1
        guard !isLast || rawCount == remaining, isLast || rawCount < remaining else {
            throw TensorCodecError.inconsistentChunk(
                tensorID: tensorID, chunkIndex: chunk.chunkIndex,
                reason: "\(rawCount) bytes with \(remaining) of \(chunk.totalBytes) left in chunk "
                    + "\(chunk.chunkIndex + 1) of \(chunk.chunkCount)")
        }
        guard rawCount > 0 || chunk.totalBytes == 0 else {
            throw TensorCodecError.inconsistentChunk(
                tensorID: tensorID, chunkIndex: chunk.chunkIndex, reason: "the chunk carries no data")
        }
        nextIndex += 1
        guard isLast, let header else { return nil }

        isComplete = true
        let tensor = try WireTensor(dtype: header.dtype, shape: header.shape, bytes: bytes)
        bytes = []
        return tensor
    }

    /// Validates the first chunk's description of the whole tensor and reserves its buffer.
    private mutating func start(with chunk: WireMessage.TensorChunk) throws {
        guard let expected = chunk.dtype.byteCount(shape: chunk.shape) else {
            throw TensorCodecError.invalidLayout(dtype: chunk.dtype, shape: chunk.shape)
        }
        guard expected == chunk.totalBytes else {
            throw TensorCodecError.sizeMismatch(
                dtype: chunk.dtype, shape: chunk.shape, expectedBytes: expected, actualBytes: chunk.totalBytes)
        }
        guard chunk.totalBytes <= maxTensorBytes else {
            throw TensorCodecError.tooLarge(
                tensorID: chunk.tensorID, totalBytes: chunk.totalBytes, maximum: maxTensorBytes)
        }
        let limit = WireProtocol.maxChunkBytes
        let fewestChunks = max(1, (chunk.totalBytes + limit - 1) / limit)
        guard chunk.chunkCount >= fewestChunks, chunk.chunkCount <= max(1, chunk.totalBytes) else {
            throw TensorCodecError.inconsistentChunk(
                tensorID: chunk.tensorID, chunkIndex: chunk.chunkIndex,
                reason: "\(chunk.chunkCount) chunks cannot carry \(chunk.totalBytes) bytes in pieces of at most "
                    + "\(limit) bytes")
        }
        header = chunk
        bytes.reserveCapacity(chunk.totalBytes)
    }

    private static func checkConsistent(_ chunk: WireMessage.TensorChunk, with header: WireMessage.TensorChunk) throws {
        var differences: [String] = []
        if chunk.tensorID != header.tensorID { differences.append("tensor id \(chunk.tensorID)") }
        if chunk.dtype != header.dtype { differences.append("dtype \(chunk.dtype.rawValue)") }
        if chunk.shape != header.shape { differences.append("shape \(chunk.shape)") }
        if chunk.chunkCount != header.chunkCount { differences.append("chunk count \(chunk.chunkCount)") }
        if chunk.totalBytes != header.totalBytes { differences.append("total size \(chunk.totalBytes)") }
        guard differences.isEmpty else {
            throw TensorCodecError.inconsistentChunk(
                tensorID: header.tensorID, chunkIndex: chunk.chunkIndex,
                reason: "differs from the first chunk in " + differences.joined(separator: ", "))
        }
    }

    /// Appends the chunk's uncompressed data after checking it against its raw length, the bytes `remaining`
    /// in the tensor and the 4 MiB limit; returns the number of bytes appended.
    private mutating func appendRawData(
        of chunk: WireMessage.TensorChunk, data: UnsafeRawBufferPointer, remaining: Int
    ) throws -> Int {
        let limit = WireProtocol.maxChunkBytes
        guard data.count <= limit, (0...min(limit, remaining)).contains(chunk.rawLength) else {
            throw TensorCodecError.inconsistentChunk(
                tensorID: chunk.tensorID, chunkIndex: chunk.chunkIndex,
                reason: "\(data.count) bytes of data for \(chunk.rawLength) raw bytes with \(remaining) bytes left; "
                    + "both sizes must be at most \(limit)")
        }
        switch chunk.compression {
        case .none:
            guard data.count == chunk.rawLength else {
                throw TensorCodecError.inconsistentChunk(
                    tensorID: chunk.tensorID, chunkIndex: chunk.chunkIndex,
                    reason: "raw length \(chunk.rawLength) but \(data.count) bytes of uncompressed data")
            }
            populateStorage(for: data.count)
            bytes.append(contentsOf: data)
        case .zstd:
            switch Zstd.decompress(data, rawLength: chunk.rawLength) {
            case .success(let raw):
                populateStorage(for: raw.count)
                bytes.append(contentsOf: raw)
            case .failure(let failure):
                throw TensorCodecError.decompressionFailed(
                    tensorID: chunk.tensorID, chunkIndex: chunk.chunkIndex, reason: failure.reason)
            }
        }
        return chunk.rawLength
    }

    /// Maps the reserved storage that the next `byteCount` appended bytes will fill (see `PagePopulation`).
    /// Only the chunk at hand is covered, so memory is committed no faster than data arrives. The range lies
    /// inside the array's capacity, and populating maps pages without changing their contents.
    private func populateStorage(for byteCount: Int) {
        let start = bytes.count
        guard bytes.capacity - start >= byteCount else { return }
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            PagePopulation.populate(UnsafeMutableRawPointer(mutating: base + start), byteCount: byteCount)
        }
    }
}
