import ElideSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The journal file `journal.bin` in the coordinator's state folder: records are appended and synced with
/// `fsync` before `append` returns.
public final class Journal: JournalWriter, @unchecked Sendable {
    public static let fileName = "journal.bin"

    public let path: String
    // The descriptor is written only under `lock`.
    private let descriptor: Int32
    private let lock = NSLock()

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Opens or creates the journal in `directory` and returns it with the records it already holds. A torn
    /// final record, left by a crash during a write, is dropped with a warning and cut off the file.
    public static func open(directory: String, logger: Logger) throws -> (journal: Journal, records: [JournalRecord]) {
        let path = directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw JournalError.io(path: path, operation: "open", errno: errno) }

        let journal = Journal(path: path, descriptor: descriptor)
        let data = try journal.readAll()
        let decoded = try JournalCodec.decode(data)
        if decoded.tornBytes > 0 {
            logger.warning(
                "ignoring a torn last journal record, left by a crash during a write",
                ("journal.path", path), ("journal.valid_bytes", String(decoded.validLength)),
                ("journal.torn_bytes", String(decoded.tornBytes)))
        }

        var keep = decoded.validLength
        if keep == 0 {
            try journal.writeAll(JournalCodec.magic, at: 0)
            keep = JournalCodec.magic.count
        }
        guard ftruncate(descriptor, off_t(keep)) == 0, fsync(descriptor) == 0 else {
            throw JournalError.io(path: path, operation: "truncate", errno: errno)
        }
        guard lseek(descriptor, 0, SEEK_END) >= 0 else {
            throw JournalError.io(path: path, operation: "seek", errno: errno)
        }
        syncDirectory(directory)
        return (journal, decoded.records)
    }

    public func append(_ record: JournalRecord) throws {
        let bytes = JournalCodec.encode(record)
        try lock.withLock {
            try writeAll(bytes, at: nil)
            guard fsync(descriptor) == 0 else { throw JournalError.io(path: path, operation: "fsync", errno: errno) }
        }
    }

    private func readAll() throws -> [UInt8] {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw JournalError.io(path: path, operation: "read", errno: errno) }
            if count == 0 { return data }
            data.append(contentsOf: chunk[0..<count])
        }
    }

    /// Writes every byte, at `offset` or at the current position when nil, retrying partial writes.
    private func writeAll(_ bytes: [UInt8], at offset: Int?) throws {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                let start = buffer.baseAddress! + written  // !-safe: bytes is not empty inside the loop.
                if let offset { return pwrite(descriptor, start, buffer.count - written, off_t(offset + written)) }
                return write(descriptor, start, buffer.count - written)
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw JournalError.io(path: path, operation: "write", errno: errno) }
            written += count
        }
    }

    /// Syncs a folder so a newly created file in it survives a crash; failures are ignored because some
    /// file systems do not support it.
    private static func syncDirectory(_ directory: String) {
        let descriptor = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
