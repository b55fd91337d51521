/// The worker side of a job kind: runs one task and returns its output bytes.
///
/// An executor must be deterministic in `(payload, seed)`, because a task may run on any worker and more than
/// once. An error it throws fails the job and is not retried; only the loss of a worker is retried.
public protocol TaskExecutor: Sendable {
    /// Matches `TaskRequest.executor`.
    var kind: String { get }

    func execute(payload: [UInt8], seed: UInt64, context: TaskContext) throws -> [UInt8]
}

/// What a running task can ask of its worker.
public struct TaskContext: Sendable {
    public let task: TaskAttempt
    private let cancellationCheck: @Sendable () -> Bool
    private let artifactLocator: @Sendable (ArtifactDigest) throws -> String

    public init(
        task: TaskAttempt, isCancelled: @escaping @Sendable () -> Bool,
        artifactPath: @escaping @Sendable (ArtifactDigest) throws -> String
    ) {
        self.task = task
        self.cancellationCheck = isCancelled
        self.artifactLocator = artifactPath
    }

    /// True once the coordinator cancelled the task or the worker is stopping; long tasks check it between
    /// steps and throw `TaskCancelled`.
    public var isCancelled: Bool { cancellationCheck() }

    /// Returns the local path of a verified copy of the artifact, fetching it first if needed.
    public func artifactPath(_ digest: ArtifactDigest) throws -> String { try artifactLocator(digest) }

    /// Throws `TaskCancelled` when the task was cancelled.
    public func checkCancellation() throws {
        if isCancelled { throw TaskCancelled(task: task) }
    }
}

/// Thrown by an executor that stopped because its task was cancelled; the worker reports no result for it.
public struct TaskCancelled: Error, CustomStringConvertible, Sendable {
    public let task: TaskAttempt

    public var description: String { "task \(task) was cancelled" }
}
