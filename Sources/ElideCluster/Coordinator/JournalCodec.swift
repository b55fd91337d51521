/// Binary layout of the journal file.
///
/// The file starts with the 8-byte magic `ELIDEJ1\n`. Each record follows as a 4-byte big-endian body length,
/// the 4-byte big-endian CRC-32 of the body, and the body: a 1-byte event type, the 8-byte time (IEEE 754
/// bits) and the event's fields. Integers are big-endian; strings and byte fields carry a 4-byte length.
public enum JournalCodec {
    public static let magic: [UInt8] = Array("ELIDEJ1\n".utf8)

    /// Largest body accepted on decoding; a larger length means a corrupt or foreign file.
    public static let maxBodyBytes = 1 << 30

    enum EventType: UInt8 {
        case jobSubmitted = 1
        case resultAccepted = 2
        case jobFailed = 3
        case jobCancelled = 4
    }

    /// Result of decoding a journal file.
    public struct Decoded: Sendable, Equatable {
        public var records: [JournalRecord]
        /// Bytes up to the end of the last complete record; a writer truncates the file here before appending.
        public var validLength: Int
        /// Bytes after `validLength` that form an incomplete or damaged last record, as left by a crash
        /// during a write; zero when the file ends cleanly.
        public var tornBytes: Int
    }

    /// Encodes one record with its length and checksum.
    public static func encode(_ record: JournalRecord) -> [UInt8] {
        var body = ByteWriter()
        switch record.event {
        case .jobSubmitted(let job, let spec):
            body.u8(EventType.jobSubmitted.rawValue)
            body.f64(record.time)
            body.u64(job.rawValue)
            body.string(spec.kind)
            body.u64(spec.seed)
            body.u32(UInt32(spec.options.count))
            for name in spec.options.keys.sorted() {
                body.string(name)
                body.string(spec.options[name] ?? "")
            }
        case .resultAccepted(let attempt, let worker, let output):
            body.u8(EventType.resultAccepted.rawValue)
            body.f64(record.time)
            body.u64(attempt.task.job.rawValue)
            body.u64(attempt.task.index)
            body.u32(attempt.attempt)
            body.u64(worker.rawValue)
            body.bytes(output)
        case .jobFailed(let job, let message):
            body.u8(EventType.jobFailed.rawValue)
            body.f64(record.time)
            body.u64(job.rawValue)
            body.string(message)
        case .jobCancelled(let job):
            body.u8(EventType.jobCancelled.rawValue)
            body.f64(record.time)
            body.u64(job.rawValue)
        }
        var framed = ByteWriter()
        framed.u32(UInt32(body.bytes.count))
        framed.u32(CRC32.checksum(body.bytes))
        framed.bytes.append(contentsOf: body.bytes)
        return framed.bytes
    }

    /// Decodes a whole journal file. An incomplete or damaged final record is reported in `tornBytes`, not
    /// thrown; damage before the final record throws, because records after it cannot be trusted.
    public static func decode(_ data: [UInt8]) throws -> Decoded {
        if data.isEmpty { return Decoded(records: [], validLength: 0, tornBytes: 0) }
        guard data.count >= magic.count else {
            // A crash while writing the header of a new journal.
            return Decoded(records: [], validLength: 0, tornBytes: data.count)
        }
        guard Array(data[0..<magic.count]) == magic else {
            throw JournalError.notAJournal(firstBytes: Array(data.prefix(8)))
        }

        var records: [JournalRecord] = []
        var offset = magic.count
        while offset < data.count {
            let remaining = data.count - offset
            guard remaining >= 8 else { break }
            var header = ByteReader(data, from: offset)
            // !-safe: 8 bytes remain, enough for both header fields.
            let length = Int(try! header.u32())
            let checksum = try! header.u32()
            guard length <= maxBodyBytes, length <= remaining - 8 else {
                if length > maxBodyBytes { throw JournalError.corrupt(offset: offset, reason: "length \(length)") }
                break
            }
            let body = Array(data[(offset + 8)..<(offset + 8 + length)])
            let isLast = offset + 8 + length == data.count
            guard CRC32.checksum(body) == checksum else {
                if isLast { break }
                throw JournalError.corrupt(offset: offset, reason: "checksum mismatch")
            }
            do {
                records.append(try decodeBody(body))
            } catch {
                throw JournalError.corrupt(offset: offset, reason: "\(error)")
            }
            offset += 8 + length
        }
        return Decoded(records: records, validLength: offset, tornBytes: data.count - offset)
    }

    static func decodeBody(_ body: [UInt8]) throws -> JournalRecord {
        var reader = ByteReader(body, from: 0)
        let rawType = try reader.u8()
        let time = try reader.f64()
        let event: JournalRecord.Event
        switch EventType(rawValue: rawType) {
        case .jobSubmitted:
            let job = JobID(try reader.u64())
            let kind = try reader.string()
            let seed = try reader.u64()
            let count = try reader.u32()
            var options: [String: String] = [:]
            for _ in 0..<count {
                let name = try reader.string()
                options[name] = try reader.string()
            }
            event = .jobSubmitted(job, JobSpec(kind: kind, seed: seed, options: options))
        case .resultAccepted:
            let task = TaskID(job: JobID(try reader.u64()), index: try reader.u64())
            let attempt = TaskAttempt(task: task, attempt: try reader.u32())
            let worker = WorkerID(try reader.u64())
            event = .resultAccepted(attempt, worker: worker, output: try reader.bytes())
        case .jobFailed:
            let job = JobID(try reader.u64())
            event = .jobFailed(job, message: try reader.string())
        case .jobCancelled:
            event = .jobCancelled(JobID(try reader.u64()))
        case nil:
            throw JournalError.corrupt(offset: 0, reason: "unknown event type \(rawType)")
        }
        guard reader.isAtEnd else { throw JournalError.corrupt(offset: 0, reason: "trailing bytes in record") }
        return JournalRecord(time: time, event: event)
    }
}

/// Errors reading or writing the journal.
public enum JournalError: Error, CustomStringConvertible, Equatable {
    /// The file does not start with the journal magic.
    case notAJournal(firstBytes: [UInt8])
    /// A record before the last one is damaged.
    case corrupt(offset: Int, reason: String)
    /// A record refers to a job or task the journal never created.
    case inconsistent(String)
    /// Reading, writing or syncing the file failed.
    case io(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .notAJournal(let firstBytes):
            return "the file is not an Elide journal (first bytes \(firstBytes)); point --state-dir at an "
                + "Elide state folder or an empty one"
        case .corrupt(let offset, let reason):
            return "journal record at byte \(offset) is damaged (\(reason)); records after it cannot be "
                + "trusted: move the journal aside to start empty, or truncate it at byte \(offset) to keep the "
                + "records before"
        case .inconsistent(let reason):
            return "journal is inconsistent: \(reason)"
        case .io(let path, let operation, let errno):
            return "\(operation) of journal \(path) failed with errno \(errno); check free space and permissions"
        }
    }
}

/// Appends big-endian fields to a byte array.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    mutating func f64(_ value: Double) { u64(value.bitPattern) }

    mutating func bytes(_ value: [UInt8]) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ value: String) { bytes(Array(value.utf8)) }
}

/// Reads big-endian fields, throwing when the data ends early.
struct ByteReader {
    struct Truncated: Error, CustomStringConvertible {
        var description: String { "record ends early" }
    }

    private let data: [UInt8]
    private var offset: Int

    init(_ data: [UInt8], from offset: Int) {
        self.data = data
        self.offset = offset
    }

    var isAtEnd: Bool { offset == data.count }

    mutating func u8() throws -> UInt8 {
        guard offset < data.count else { throw Truncated() }
        offset += 1
        return data[offset - 1]
    }

    mutating func u32() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 { value = value << 8 | UInt32(try u8()) }
        return value
    }

    mutating func u64() throws -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(try u8()) }
        return value
    }

    mutating func f64() throws -> Double { Double(bitPattern: try u64()) }

    mutating func bytes() throws -> [UInt8] {
        let count = Int(try u32())
        guard count <= data.count - offset else { throw Truncated() }
        offset += count
        return Array(data[(offset - count)..<offset])
    }

    mutating func string() throws -> String { String(decoding: try bytes(), as: UTF8.self) }
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as used by zlib and gzip.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
