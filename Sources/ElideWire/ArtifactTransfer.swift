#if canImport(Glibc)
    import Glibc
#endif

/// Splits artifacts into `ArtifactChunk` messages of at most 4 MiB.
public enum ArtifactSender {
    /// Calls `body` with each chunk of the file at `path`, read sequentially from `offset`. The last chunk has
    /// `isLast` set; an empty file yields one empty last chunk.
    ///
    /// The digest is passed through, not computed: the store that names files by digest vouches for it, and
    /// the receiver verifies it.
    /// - Throws: `ArtifactTransferError.readFailed`, or what `body` throws.
    public static func forEachChunk(
        ofFileAt path: String, sha256: String, offset: Int = 0, chunkBytes: Int = WireProtocol.maxChunkBytes,
        _ body: (WireMessage.ArtifactChunk) throws -> Void
    ) throws {
        precondition((1...WireProtocol.maxChunkBytes).contains(chunkBytes), "chunkBytes out of range: \(chunkBytes)")
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ArtifactTransferError.readFailed(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw ArtifactTransferError.readFailed(path: path, reason: String(cString: strerror(errno)))
        }
        let totalSize = Int(status.st_size)
        guard (0...totalSize).contains(offset) else {
            throw ArtifactTransferError.invalidChunk(
                sha256: sha256, reason: "requested offset \(offset) is outside the artifact's \(totalSize) bytes")
        }

        var position = offset
        repeat {
            let count = min(chunkBytes, totalSize - position)
            let data = try readExactly(descriptor, count: count, at: position, path: path)
            let isLast = position + count == totalSize
            try body(
                WireMessage.ArtifactChunk(
                    sha256: sha256, offset: position, totalSize: totalSize, data: data, isLast: isLast))
            position += count
        } while position < totalSize
    }

    /// Splits an artifact held in memory into chunks; `sha256` defaults to the digest of `bytes`.
    public static func chunks(
        of bytes: [UInt8], sha256: String? = nil, chunkBytes: Int = WireProtocol.maxChunkBytes
    ) -> [WireMessage.ArtifactChunk] {
        precondition((1...WireProtocol.maxChunkBytes).contains(chunkBytes), "chunkBytes out of range: \(chunkBytes)")
        let digest = sha256 ?? SHA256Digest.hex(of: bytes)
        var chunks: [WireMessage.ArtifactChunk] = []
        var position = 0
        repeat {
            let end = min(position + chunkBytes, bytes.count)
            chunks.append(
                WireMessage.ArtifactChunk(
                    sha256: digest, offset: position, totalSize: bytes.count, data: Array(bytes[position..<end]),
                    isLast: end == bytes.count))
            position = end
        } while position < bytes.count
        return chunks
    }

    private static func readExactly(_ descriptor: Int32, count: Int, at offset: Int, path: String) throws -> [UInt8] {
        var failure: ArtifactTransferError?
        let data = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var filled = 0
            while filled < count {
                // !-safe: the loop runs only for count > 0, so the buffer has storage.
                let got = pread(descriptor, buffer.baseAddress! + filled, count - filled, off_t(offset + filled))
                if got < 0 && errno == EINTR { continue }
                if got <= 0 {
                    let reason =
                        got == 0
                        ? "the file ended early (it changed while being sent)" : String(cString: strerror(errno))
                    failure = .readFailed(path: path, reason: reason)
                    break
                }
                filled += got
            }
            initialized = filled
        }
        if let failure { throw failure }
        return data
    }
}

/// Writes an incoming artifact to a file, verifying chunk order, size and finally its sha256.
///
/// Chunks go to `DESTINATION.partial`. Only a complete artifact whose digest matches is synced and renamed to
/// the destination, so readers never find a partial or corrupt file under the final name.
/// Not thread-safe: feed it from the connection's reader thread.
public final class ArtifactReceiver {
    public let sha256: String
    public let destination: String
    /// Largest artifact accepted, in bytes.
    public let maxBytes: Int
    private let partialPath: String
    private var descriptor: Int32
    private let hasher = SHA256Hasher()
    private var received = 0
    private var totalSize: Int?
    public private(set) var isComplete = false

    /// Creates (or truncates) `DESTINATION.partial`.
    ///
    /// - Parameter maxBytes: default 64 GiB.
    /// - Throws: `ArtifactTransferError.invalidChunk` for a malformed digest, `.writeFailed`.
    public init(sha256: String, destination: String, maxBytes: Int = 64 << 30) throws {
        guard SHA256Digest.isValid(sha256) else {
            throw ArtifactTransferError.invalidChunk(
                sha256: sha256, reason: "an artifact digest must be 64 lowercase hex characters")
        }
        self.sha256 = sha256
        self.destination = destination
        self.maxBytes = maxBytes
        self.partialPath = destination + ".partial"
        descriptor = open(partialPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ArtifactTransferError.writeFailed(path: partialPath, reason: String(cString: strerror(errno)))
        }
    }

    deinit {
        if descriptor >= 0 {
            close(descriptor)
            unlink(partialPath)
        }
    }

    /// Writes the next chunk; returns true once the last chunk is in, verified and renamed into place.
    ///
    /// - Throws: `ArtifactTransferError.invalidChunk` (wrong digest, offset, size or order),
    ///   `.digestMismatch` (the partial file is deleted), `.writeFailed`.
    public func add(_ chunk: WireMessage.ArtifactChunk) throws -> Bool {
        guard !isComplete else {
            throw ArtifactTransferError.invalidChunk(sha256: sha256, reason: "a chunk arrived after the last one")
        }
        try check(chunk)
        try write(chunk.data)
        hasher.update(chunk.data)
        received += chunk.data.count
        guard chunk.isLast else { return false }

        let actual = hasher.finalizeHex()
        guard actual == sha256 else {
            abandon()
            throw ArtifactTransferError.digestMismatch(expected: sha256, actual: actual)
        }
        try finish()
        isComplete = true
        return true
    }

    /// Deletes the partial file; the receiver accepts no more chunks.
    public func abandon() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(partialPath)
    }

    private func check(_ chunk: WireMessage.ArtifactChunk) throws {
        guard descriptor >= 0 else {
            throw ArtifactTransferError.invalidChunk(sha256: sha256, reason: "the transfer was abandoned")
        }
        guard chunk.sha256 == sha256 else {
            throw ArtifactTransferError.invalidChunk(
                sha256: sha256, reason: "a chunk of artifact \(chunk.sha256) arrived in this transfer")
        }
        let expectedTotal = totalSize ?? chunk.totalSize
        guard chunk.totalSize == expectedTotal, (0...maxBytes).contains(chunk.totalSize) else {
            throw ArtifactTransferError.invalidChunk(
                sha256: sha256,
                reason:
                    "total size \(chunk.totalSize) differs from \(expectedTotal) or exceeds the maximum of \(maxBytes)")
        }
        totalSize = expectedTotal
        guard chunk.offset == received else {
            throw ArtifactTransferError.invalidChunk(
                sha256: sha256, reason: "chunk at offset \(chunk.offset) arrived when offset \(received) was due")
        }
        let end = received + chunk.data.count
        guard chunk.data.count <= WireProtocol.maxChunkBytes, end <= expectedTotal,
            chunk.isLast == (end == expectedTotal), chunk.isLast || !chunk.data.isEmpty
        else {
            throw ArtifactTransferError.invalidChunk(
                sha256: sha256,
                reason: "chunk of \(chunk.data.count) bytes at offset \(chunk.offset) (last: \(chunk.isLast)) "
                    + "does not fit a total of \(expectedTotal) bytes")
        }
    }

    private func write(_ data: [UInt8]) throws {
        var offset = 0
        while offset < data.count {
            let written = data[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                let reason = String(cString: strerror(errno))
                abandon()
                throw ArtifactTransferError.writeFailed(path: partialPath, reason: reason)
            }
            offset += written
        }
    }

    private func finish() throws {
        let synced = fsync(descriptor) == 0
        let reason = synced ? "" : String(cString: strerror(errno))
        close(descriptor)
        descriptor = -1
        guard synced else {
            unlink(partialPath)
            throw ArtifactTransferError.writeFailed(path: partialPath, reason: reason)
        }
        guard rename(partialPath, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partialPath)
            throw ArtifactTransferError.writeFailed(path: destination, reason: reason)
        }
    }
}

/// Failures while sending or receiving an artifact.
public enum ArtifactTransferError: Error, Equatable, CustomStringConvertible {
    case readFailed(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    /// A chunk does not continue the transfer as announced.
    case invalidChunk(sha256: String, reason: String)
    /// All bytes arrived but their digest differs from the artifact's address.
    case digestMismatch(expected: String, actual: String)

    public var description: String {
        switch self {
        case .readFailed(let path, let reason):
            return "cannot read artifact file \(path): \(reason)"
        case .writeFailed(let path, let reason):
            return "cannot write artifact file \(path): \(reason); check free space and permissions"
        case .invalidChunk(let sha256, let reason):
            return "artifact \(sha256): invalid chunk: \(reason)"
        case .digestMismatch(let expected, let actual):
            return "artifact \(expected) arrived with sha256 \(actual); the copy was discarded, request it again"
        }
    }
}
