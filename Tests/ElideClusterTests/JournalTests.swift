import ElideSupport
import Foundation
import Testing

@testable import ElideCluster

struct JournalTests {
    static let sampleRecords: [JournalRecord] = [
        JournalRecord(
            time: 1_700_000_000.25,
            event: .jobSubmitted(JobID(1), JobSpec(kind: "sleep", seed: 42, options: ["tasks": "3", "b": "x y"]))),
        JournalRecord(
            time: 1_700_000_001,
            event: .resultAccepted(
                TaskAttempt(task: TaskID(job: JobID(1), index: 2), attempt: 3), worker: WorkerID(9),
                output: [0, 1, 2, 255])),
        JournalRecord(time: 1_700_000_002, event: .jobFailed(JobID(1), message: "task j1/t2 failed: ünïcode")),
        JournalRecord(time: 1_700_000_003, event: .jobCancelled(JobID(2))),
    ]

    func encodedFile(_ records: [JournalRecord]) -> [UInt8] {
        JournalCodec.magic + records.flatMap { JournalCodec.encode($0) }
    }

    @Test func recordsRoundTrip() throws {
        let decoded = try JournalCodec.decode(encodedFile(Self.sampleRecords))
        #expect(decoded.records == Self.sampleRecords)
        #expect(decoded.tornBytes == 0)
    }

    @Test func tornLastRecordIsIgnoredAtEveryCut() throws {
        let complete = encodedFile(Self.sampleRecords)
        let lastStart = complete.count - JournalCodec.encode(Self.sampleRecords[3]).count
        for cut in lastStart..<complete.count {
            let decoded = try JournalCodec.decode(Array(complete[0..<cut]))
            #expect(decoded.records == Array(Self.sampleRecords.prefix(3)), "cut at \(cut)")
            #expect(decoded.validLength == lastStart)
            #expect(decoded.tornBytes == cut - lastStart)
        }
    }

    @Test func damagedLastRecordIsIgnored() throws {
        var bytes = encodedFile(Self.sampleRecords)
        bytes[bytes.count - 1] ^= 0xFF
        let decoded = try JournalCodec.decode(bytes)
        #expect(decoded.records.count == 3)
        #expect(decoded.tornBytes > 0)
    }

    @Test func damagedMiddleRecordThrows() {
        var bytes = encodedFile(Self.sampleRecords)
        bytes[JournalCodec.magic.count + 12] ^= 0xFF
        #expect(throws: JournalError.self) { try JournalCodec.decode(bytes) }
    }

    @Test func foreignFileIsRejected() {
        #expect(throws: JournalError.self) { try JournalCodec.decode(Array("hello, world".utf8)) }
    }

    @Test func crc32MatchesKnownValue() {
        // Check value of CRC-32/ISO-HDLC for "123456789".
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func fileKeepsRecordsAcrossReopen() throws {
        let folder = try TemporaryFolder()
        let logger = Logger(label: "test", level: .critical)
        do {
            let (journal, existing) = try Journal.open(directory: folder.path, logger: logger)
            #expect(existing.isEmpty)
            for record in Self.sampleRecords { try journal.append(record) }
        }
        let (_, reopened) = try Journal.open(directory: folder.path, logger: logger)
        #expect(reopened == Self.sampleRecords)
    }

    @Test func fileDropsTornTailAndAppendsAfterIt() throws {
        let folder = try TemporaryFolder()
        let capture = LogCapture()
        let path = folder.path + "/" + Journal.fileName
        do {
            let (journal, _) = try Journal.open(directory: folder.path, logger: capture.logger())
            for record in Self.sampleRecords.prefix(2) { try journal.append(record) }
        }
        // Simulate a crash in the middle of writing a third record.
        let partial = Array(JournalCodec.encode(Self.sampleRecords[2]).prefix(7))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(partial))
        try handle.close()

        do {
            let (journal, records) = try Journal.open(directory: folder.path, logger: capture.logger())
            #expect(records == Array(Self.sampleRecords.prefix(2)))
            #expect(capture.lines.contains { $0.contains("torn") && $0.contains("journal.torn_bytes=7") })
            try journal.append(Self.sampleRecords[3])
        }
        let (_, final) = try Journal.open(directory: folder.path, logger: capture.logger())
        #expect(final == [Self.sampleRecords[0], Self.sampleRecords[1], Self.sampleRecords[3]])
    }
}
