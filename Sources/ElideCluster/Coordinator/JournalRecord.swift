/// One entry of the coordinator's append-only journal. Replaying the entries in order through fresh drivers
/// rebuilds every job.
public struct JournalRecord: Sendable, Equatable {
    /// Wall-clock time of the event, seconds since 1970; used for elapsed times after a restart.
    public var time: Double
    public var event: Event

    public init(time: Double, event: Event) {
        self.time = time
        self.event = event
    }

    public enum Event: Sendable, Equatable {
        /// A job was accepted; its id was assigned by the coordinator.
        case jobSubmitted(JobID, JobSpec)
        /// A task's output was accepted and handed to its driver.
        case resultAccepted(TaskAttempt, worker: WorkerID, output: [UInt8])
        /// A job failed: a task raised an error, a task ran out of retries or the driver rejected a result.
        case jobFailed(JobID, message: String)
        /// A user cancelled a job.
        case jobCancelled(JobID)
    }
}

/// Destination of journal records; the coordinator writes each record before acting on it.
public protocol JournalWriter: AnyObject, Sendable {
    /// Appends a record durably; returns only once the record would survive a crash.
    func append(_ record: JournalRecord) throws
}

/// A journal kept in memory, for tests and for `--local` runs that need no restart.
public final class MemoryJournal: JournalWriter, @unchecked Sendable {
    // Guarded by the caller: the coordinator core is used under one lock.
    public private(set) var records: [JournalRecord] = []

    public init() {}

    public func append(_ record: JournalRecord) throws {
        records.append(record)
    }
}
