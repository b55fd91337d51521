import ElideWire
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A content-addressed folder of artifacts: each file is named by the sha256 of its bytes,
/// `<root>/sha256/<64 hex digits>`. Files appear only complete and verified (written to a temporary name,
/// then renamed), so a crash never leaves a wrong file under a digest's name.
public final class ArtifactStore: Sendable {
    public let root: String
    private let objects: String

    /// Opens the store at `root`, creating the folder if needed.
    public init(root: String) throws {
        self.root = root
        self.objects = root + "/sha256"
        do {
            try FileManager.default.createDirectory(atPath: objects, withIntermediateDirectories: true)
        } catch {
            throw ArtifactStoreError.io(path: objects, operation: "create folder", reason: "\(error)")
        }
    }

    public func path(for digest: ArtifactDigest) -> String { objects + "/" + digest.hex }

    public func contains(_ digest: ArtifactDigest) -> Bool {
        FileManager.default.fileExists(atPath: path(for: digest))
    }

    /// Digests of every stored artifact, sorted.
    public func digests() -> [ArtifactDigest] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: objects)) ?? []
        return names.compactMap { ArtifactDigest(hex: $0) }.filter { $0.hex == $0.hex.lowercased() }.sorted()
    }

    /// Size in bytes of a stored artifact.
    public func size(of digest: ArtifactDigest) throws -> Int {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path(for: digest))
        guard let size = attributes?[.size] as? NSNumber else { throw ArtifactStoreError.notFound(digest) }
        return size.intValue
    }

    /// Stores `bytes` and returns their digest; storing the same bytes twice keeps one copy.
    @discardableResult
    public func put(_ bytes: [UInt8]) throws -> ArtifactDigest {
        let digest = ArtifactDigest(hex: SHA256Digest.hex(of: bytes))!  // !-safe: the hasher returns 64 hex digits.
        if contains(digest) { return digest }
        let ingest = try beginIngest(expected: digest)
        try ingest.append(bytes)
        try ingest.finish()
        return digest
    }

    /// Copies a file into the store and returns its digest.
    @discardableResult
    public func importFile(at path: String) throws -> ArtifactDigest {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ArtifactStoreError.io(path: path, operation: "open", reason: "the file cannot be read")
        }
        defer { try? handle.close() }
        let temporary = try TemporaryFile(in: objects)
        let hasher = SHA256Hasher()
        while true {
            let chunk = [UInt8](handle.readData(ofLength: 1 << 20))
            if chunk.isEmpty { break }
            hasher.update(chunk)
            try temporary.write(chunk)
        }
        let digest = ArtifactDigest(hex: hasher.finalizeHex())!  // !-safe: the hasher returns 64 hex digits.
        try temporary.commit(as: self.path(for: digest))
        return digest
    }

    /// Reads up to `maxLength` bytes of an artifact from `offset`; returns the bytes and the artifact's size.
    public func read(_ digest: ArtifactDigest, offset: Int, maxLength: Int) throws -> (bytes: [UInt8], totalSize: Int) {
        guard let handle = FileHandle(forReadingAtPath: path(for: digest)) else {
            throw ArtifactStoreError.notFound(digest)
        }
        defer { try? handle.close() }
        let total = Int(handle.seekToEndOfFile())
        guard offset >= 0, offset <= total else {
            throw ArtifactStoreError.invalidOffset(digest, offset: offset, size: total)
        }
        handle.seek(toFileOffset: UInt64(offset))
        return ([UInt8](handle.readData(ofLength: min(maxLength, total - offset))), total)
    }

    /// Starts receiving an artifact whose digest is known in advance, as when fetching it in chunks.
    public func beginIngest(expected digest: ArtifactDigest) throws -> ArtifactIngest {
        ArtifactIngest(store: self, expected: digest, file: try TemporaryFile(in: objects))
    }
}

/// An artifact being received: chunks are hashed as they are written, and `finish` stores the file only if
/// its digest matches.
public final class ArtifactIngest: @unchecked Sendable {
    // Used by one thread at a time: the worker thread that fetches the artifact.
    public let expected: ArtifactDigest
    public private(set) var receivedBytes = 0
    private let store: ArtifactStore
    private let file: TemporaryFile
    private let hasher = SHA256Hasher()

    init(store: ArtifactStore, expected: ArtifactDigest, file: TemporaryFile) {
        self.store = store
        self.expected = expected
        self.file = file
    }

    public func append(_ bytes: [UInt8]) throws {
        hasher.update(bytes)
        try file.write(bytes)
        receivedBytes += bytes.count
    }

    /// Verifies the digest and moves the file into place; on a mismatch the data is discarded and the error
    /// names both digests.
    public func finish() throws {
        let actual = ArtifactDigest(hex: hasher.finalizeHex())!  // !-safe: the hasher returns 64 hex digits.
        guard actual == expected else {
            file.discard()
            throw ArtifactStoreError.digestMismatch(expected: expected, actual: actual)
        }
        try file.commit(as: store.path(for: expected))
    }

    public func cancel() { file.discard() }
}

/// A uniquely named file in the store's folder, renamed into place when complete.
final class TemporaryFile: @unchecked Sendable {
    // Used by one thread at a time, like its owner.
    let path: String
    private var descriptor: Int32

    init(in folder: String) throws {
        var template = Array((folder + "/.incoming-XXXXXX").utf8CString)
        descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }  // !-safe: non-empty.
        guard descriptor >= 0 else {
            throw ArtifactStoreError.io(path: folder, operation: "create temporary file", reason: errnoText())
        }
        path = String(cString: template)
    }

    deinit { discard() }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw ArtifactStoreError.io(path: path, operation: "write", reason: errnoText()) }
            offset += count
        }
    }

    func commit(as target: String) throws {
        guard fsync(descriptor) == 0 else {
            throw ArtifactStoreError.io(path: path, operation: "fsync", reason: errnoText())
        }
        close(descriptor)
        descriptor = -1
        guard rename(path, target) == 0 else {
            throw ArtifactStoreError.io(path: target, operation: "rename", reason: errnoText())
        }
    }

    func discard() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(path)
    }
}

private func errnoText() -> String { String(cString: strerror(errno)) }

/// Failures of the artifact store.
public enum ArtifactStoreError: Error, CustomStringConvertible, Equatable {
    case notFound(ArtifactDigest)
    case digestMismatch(expected: ArtifactDigest, actual: ArtifactDigest)
    case invalidOffset(ArtifactDigest, offset: Int, size: Int)
    case io(path: String, operation: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let digest):
            return "artifact \(digest.hex) not found in the store; add it on the coordinator first"
        case .digestMismatch(let expected, let actual):
            return "artifact data hashes to \(actual.hex), expected \(expected.hex); the transfer was corrupted "
                + "or the source file changed, so it was discarded"
        case .invalidOffset(let digest, let offset, let size):
            return "offset \(offset) is outside artifact \(digest.hex) of \(size) bytes"
        case .io(let path, let operation, let reason):
            return "\(operation) of \(path) failed: \(reason)"
        }
    }
}
