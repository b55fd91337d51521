/// A job's lifecycle state.
public enum JobState: String, Sendable, Codable, CaseIterable {
    case running
    case succeeded
    case failed
    case cancelled

    public var isFinished: Bool { self != .running }
}

/// One job as the coordinator tracks it.
public struct JobEntry: Sendable {
    public let id: JobID
    public let spec: JobSpec
    /// Wall-clock submission time, seconds since 1970.
    public let submittedAt: Double
    public internal(set) var finishedAt: Double?
    public internal(set) var state: JobState = .running
    public internal(set) var progress = JobProgress(completed: 0, total: 0)
    public internal(set) var report: JobReport?
    /// Reason the job failed or was cancelled.
    public internal(set) var failure: String?
    public internal(set) var tasksCreated = 0
    public internal(set) var tasksDone = 0
    /// Times one of the job's tasks went back to the queue after losing its worker.
    public internal(set) var retries = 0

    var driver: (any JobDriver)?
    /// Tasks created and not yet done, by index: their payloads are sent with each assignment.
    var pending: [UInt64: TaskRequest] = [:]

    public func request(for index: UInt64) -> TaskRequest? { pending[index] }
}

/// What applying an event did to a job.
struct JobChange: Sendable {
    var newTasks: [TaskRequest] = []
    var finished = false
    /// Artifact contents to store before the new tasks are assigned.
    var artifacts: [[UInt8]] = []
}

/// The coordinator's jobs and their drivers. Pure: each change is a function of the journaled events, so
/// replaying the journal rebuilds the same table.
public struct JobTable: Sendable {
    public let registry: JobKindRegistry
    public private(set) var jobs: [JobID: JobEntry] = [:]
    public private(set) var nextJobID = JobID(1)

    public init(registry: JobKindRegistry) {
        self.registry = registry
    }

    public subscript(id: JobID) -> JobEntry? { jobs[id] }

    public var orderedJobs: [JobEntry] { jobs.keys.sorted().compactMap { jobs[$0] } }

    mutating func submit(_ id: JobID, spec: JobSpec, time: Double) -> JobChange {
        var entry = JobEntry(id: id, spec: spec, submittedAt: time)
        nextJobID = JobID(max(nextJobID.rawValue, id.rawValue + 1))
        do {
            var driver = try registry.makeDriver(for: spec)
            let step = try driver.start()
            entry.driver = driver
            jobs[id] = entry
            return absorb(step, into: id, time: time)
        } catch {
            jobs[id] = entry
            finish(id, state: .failed, failure: "job \(id) could not start: \(error)", time: time)
            return JobChange(finished: true)
        }
    }

    mutating func accept(_ task: TaskID, output: [UInt8], time: Double) throws -> JobChange {
        // Taking the entry out of the table keeps its pending dictionary uniquely referenced, so removing
        // one task does not copy the whole dictionary on every result.
        guard var entry = jobs.removeValue(forKey: task.job) else {
            throw JournalError.inconsistent("result for unknown job \(task.job)")
        }
        guard entry.state == .running else {
            jobs[task.job] = entry
            return JobChange()
        }
        guard entry.pending.removeValue(forKey: task.index) != nil, var driver = entry.driver else {
            jobs[task.job] = entry
            throw JournalError.inconsistent("result for task \(task), which is not pending")
        }
        entry.tasksDone += 1
        entry.driver = nil
        jobs[task.job] = entry
        do {
            let step = try driver.handle(taskIndex: task.index, output: output)
            jobs[task.job]?.driver = driver
            return absorb(step, into: task.job, time: time)
        } catch {
            finish(
                task.job, state: .failed, failure: "driver rejected the result of task \(task): \(error)", time: time)
            return JobChange(finished: true)
        }
    }

    mutating func countRetry(of job: JobID) {
        jobs[job]?.retries += 1
    }

    /// Ends a running job as failed or cancelled; returns false when it had already finished.
    @discardableResult
    mutating func finish(_ id: JobID, state: JobState, failure: String?, time: Double) -> Bool {
        guard var entry = jobs[id], entry.state == .running else { return false }
        entry.state = state
        entry.failure = failure
        entry.finishedAt = time
        entry.driver = nil
        entry.pending = [:]
        jobs[id] = entry
        return true
    }

    private mutating func absorb(_ step: DriverStep, into id: JobID, time: Double) -> JobChange {
        // !-safe: callers pass the id of a job they just stored.
        var entry = jobs[id]!
        entry.progress = step.progress
        var change = JobChange(artifacts: step.artifacts)
        for request in step.newTasks where entry.pending[request.index] == nil {
            entry.pending[request.index] = request
            entry.tasksCreated += 1
            change.newTasks.append(request)
        }
        jobs[id] = entry
        if let report = step.report {
            jobs[id]?.report = report
            finish(id, state: .succeeded, failure: nil, time: time)
            change.finished = true
            change.newTasks = []
        }
        return change
    }
}
