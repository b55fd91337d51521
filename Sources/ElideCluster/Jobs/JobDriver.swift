/// The coordinator side of a job kind: a deterministic state machine that turns task results into new tasks
/// and, at the end, a report.
///
/// Contract:
/// - Deterministic: given the same spec and the same results in the same order, a driver returns the same
///   steps. The coordinator replays its journal through a fresh driver after a restart and relies on this.
/// - No I/O, no clock, no unseeded randomness.
/// - Results may arrive in any order. A driver whose report must not depend on the number of workers either
///   combines results in an order-independent way or waits for a batch and processes it in index order.
/// - Every index in `newTasks` is new within the job.
public protocol JobDriver: Sendable {
    /// Returns the first tasks; a step with a report and no tasks finishes the job at once.
    mutating func start() throws -> DriverStep

    /// Takes the output of the task with `taskIndex`; the runtime calls it once per task.
    mutating func handle(taskIndex: UInt64, output: [UInt8]) throws -> DriverStep
}

/// What a driver returns after each event.
public struct DriverStep: Sendable, Equatable {
    public var newTasks: [TaskRequest]
    public var progress: JobProgress
    /// Non-nil when the job is finished.
    public var report: JobReport?
    /// Artifact contents the coordinator stores before it assigns `newTasks`, which name them by sha256 in
    /// `TaskRequest.artifacts`. Not journaled: replaying the results derives them again.
    public var artifacts: [[UInt8]]

    public init(
        newTasks: [TaskRequest] = [], progress: JobProgress, report: JobReport? = nil, artifacts: [[UInt8]] = []
    ) {
        self.newTasks = newTasks
        self.progress = progress
        self.report = report
        self.artifacts = artifacts
    }
}

/// A driver's rejection of a spec or an output.
public struct JobDriverError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
