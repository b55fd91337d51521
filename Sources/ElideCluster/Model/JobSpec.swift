/// What a user submits: a job kind, a seed and the kind's options as text, exactly as typed.
///
/// The spec is journaled, so replaying it through the kind's driver rebuilds the job after a restart.
public struct JobSpec: Sendable, Equatable, Codable {
    /// Name of a kind registered in the `JobKindRegistry`, such as `sleep` or `matmul`.
    public var kind: String
    /// Root of every random choice in the job; each task derives its own seed from it and its index.
    public var seed: UInt64
    /// Option values by name without the leading dashes, for example `["tasks": "200"]`.
    public var options: [String: String]

    public init(kind: String, seed: UInt64, options: [String: String] = [:]) {
        self.kind = kind
        self.seed = seed
        self.options = options
    }
}

/// A unit of work a driver asks for; the runtime adds the job id, the attempt and the seed.
public struct TaskRequest: Sendable, Equatable {
    /// Unique within the job; the driver chooses it, and it keys the task's seed and result.
    public var index: UInt64
    /// The `TaskExecutor.kind` that runs it on a worker.
    public var executor: String
    /// Input bytes for the executor, in a format the job kind defines.
    public var payload: [UInt8]
    /// Artifacts the executor reads; the scheduler prefers workers that already hold them.
    public var artifacts: [ArtifactDigest]
    /// Key of state the task needs on its worker, such as a pipeline stage's KV caches. The job's first task
    /// with a key picks a worker, and its later tasks with that key wait for that worker until it leaves.
    /// Nil for tasks that may run anywhere.
    public var affinity: String?

    public init(
        index: UInt64, executor: String, payload: [UInt8], artifacts: [ArtifactDigest] = [], affinity: String? = nil
    ) {
        self.index = index
        self.executor = executor
        self.payload = payload
        self.artifacts = artifacts
        self.affinity = affinity
    }
}

/// A job's progress in units its driver chooses (tasks, generations, rounds), with an optional detail line.
public struct JobProgress: Sendable, Equatable, Codable {
    public var completed: Int
    public var total: Int
    public var detail: String

    public init(completed: Int, total: Int, detail: String = "") {
        self.completed = completed
        self.total = total
        self.detail = detail
    }
}

/// A finished job's result: a line for people and values for machines.
public struct JobReport: Sendable, Equatable, Codable {
    public var summary: String
    public var values: [String: JSONValue]

    public init(summary: String, values: [String: JSONValue]) {
        self.summary = summary
        self.values = values
    }
}
