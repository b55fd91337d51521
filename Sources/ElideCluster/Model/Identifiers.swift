/// A job's id, assigned by the coordinator in submission order and printed as `j<number>`.
public struct JobID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// Parses `j12` or `12`; returns nil for anything else.
    public init?(parsing text: String) {
        let digits = text.hasPrefix("j") ? String(text.dropFirst()) : text
        guard let value = UInt64(digits), value > 0 else { return nil }
        self.rawValue = value
    }

    public var description: String { "j\(rawValue)" }

    public static func < (lhs: JobID, rhs: JobID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A worker's id for one connection, assigned by the coordinator and printed as `w<number>`.
///
/// A worker that reconnects gets a new id; its `--name` stays the same.
public struct WorkerID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public var description: String { "w\(rawValue)" }

    public static func < (lhs: WorkerID, rhs: WorkerID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A task: the job it belongs to and the index its driver gave it, printed as `j3/t17`.
public struct TaskID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let job: JobID
    public let index: UInt64

    public init(job: JobID, index: UInt64) {
        self.job = job
        self.index = index
    }

    public var description: String { "\(job)/t\(index)" }

    public static func < (lhs: TaskID, rhs: TaskID) -> Bool {
        (lhs.job, lhs.index) < (rhs.job, rhs.index)
    }
}

/// One execution of a task. Results are keyed by it, so a late result of an abandoned attempt is dropped.
public struct TaskAttempt: Hashable, Sendable, Codable, CustomStringConvertible {
    public let task: TaskID
    /// 1 for the first execution, incremented each time the task is queued again.
    public let attempt: UInt32

    public init(task: TaskID, attempt: UInt32) {
        self.task = task
        self.attempt = attempt
    }

    public var description: String { "\(task)#\(attempt)" }
}
