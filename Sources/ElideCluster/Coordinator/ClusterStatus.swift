/// A snapshot of the cluster for `elide status`, as sent to the CLI and printed with `--json`.
public struct ClusterStatus: Sendable, Equatable, Codable {
    public var coordinator: CoordinatorInfo
    public var workers: [WorkerStatus]
    public var jobs: [JobStatus]
    public var tasks: TaskCounts

    public init(coordinator: CoordinatorInfo, workers: [WorkerStatus], jobs: [JobStatus], tasks: TaskCounts) {
        self.coordinator = coordinator
        self.workers = workers
        self.jobs = jobs
        self.tasks = tasks
    }
}

public struct CoordinatorInfo: Sendable, Equatable, Codable {
    public var address: String
    public var processID: Int32
    public var uptimeSeconds: Double
    /// True after SIGTERM: running jobs finish but new submissions are rejected.
    public var isStopping: Bool
}

public struct WorkerStatus: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var address: String
    public var processID: Int32
    /// `alive`, `suspect`, `draining` or `dead` (recently lost workers are listed for a while).
    public var state: String
    public var slotsUsed: Int
    public var slotsTotal: Int
    public var tasksDone: Int
    /// Seconds since the last heartbeat; for a dead worker, since it was declared dead.
    public var lastHeartbeatAgeSeconds: Double
}

public struct JobStatus: Sendable, Equatable, Codable {
    public var id: String
    public var kind: String
    public var state: JobState
    public var progress: JobProgress
    public var tasksDone: Int
    public var tasksCreated: Int
    public var tasksRunning: Int
    public var retries: Int
    public var elapsedSeconds: Double
    /// Wall-clock submission time, milliseconds since 1970.
    public var submittedAtUnixMilliseconds: Int
    public var failure: String?
    public var report: JobReport?
}

/// Tasks by state, over all jobs since the coordinator started or replayed its journal.
public struct TaskCounts: Sendable, Equatable, Codable {
    public var queued: Int
    public var running: Int
    public var succeeded: Int
    public var failed: Int
    public var retried: Int
    public var duplicatesDropped: Int
}
