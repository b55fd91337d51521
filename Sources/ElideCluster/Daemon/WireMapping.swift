import ElideWire

// Conversions between the runtime's types and the wire messages of ElideWire.

extension TaskAssignment {
    var wireMessage: WireMessage.TaskAssignment {
        WireMessage.TaskAssignment(
            jobID: attempt.task.job.description, taskID: Int(attempt.task.index), attempt: Int(attempt.attempt),
            kind: executor, payload: payload, requiredArtifacts: artifacts.map(\.hex), seed: seed)
    }

    init?(wire: WireMessage.TaskAssignment) {
        guard let attempt = TaskAttempt(jobID: wire.jobID, taskID: wire.taskID, attempt: wire.attempt) else {
            return nil
        }
        let artifacts = wire.requiredArtifacts.compactMap(ArtifactDigest.init(hex:))
        guard artifacts.count == wire.requiredArtifacts.count else { return nil }
        self.init(
            attempt: attempt, executor: wire.kind, payload: wire.payload, seed: wire.seed, artifacts: artifacts)
    }
}

extension TaskAttempt {
    /// Parses the wire's string job id and integer task index and attempt; nil when any is out of range.
    init?(jobID: String, taskID: Int, attempt: Int) {
        guard let job = JobID(parsing: jobID), taskID >= 0, attempt >= 1, attempt <= Int(UInt32.max) else {
            return nil
        }
        self.init(task: TaskID(job: job, index: UInt64(taskID)), attempt: UInt32(attempt))
    }

    var wireRef: WireMessage.TaskRef {
        WireMessage.TaskRef(jobID: task.job.description, taskID: Int(task.index), attempt: Int(attempt))
    }
}

extension JobState {
    var wireState: WireMessage.JobState {
        switch self {
        case .running: return .running
        case .succeeded: return .succeeded
        case .failed: return .failed
        case .cancelled: return .cancelled
        }
    }

    init(wire: WireMessage.JobState) {
        switch wire {
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        case .cancelled: self = .cancelled
        case .queued, .running, .unspecified: self = .running
        }
    }
}

extension JobStatus {
    var wireMessage: WireMessage.JobStatus {
        let fraction = progress.total > 0 ? Double(progress.completed) / Double(progress.total) : 0
        return WireMessage.JobStatus(
            jobID: id, kind: kind, state: state.wireState, progressFraction: fraction,
            progressText: progressText, elapsed: .milliseconds(Int64(elapsedSeconds * 1000)), tasksDone: tasksDone,
            tasksTotal: tasksCreated, tasksRunning: tasksRunning, retries: retries, errorMessage: failure ?? "",
            submittedAtUnixMilliseconds: submittedAtUnixMilliseconds)
    }

    var progressText: String {
        let base = "\(progress.completed)/\(progress.total)"
        return progress.detail.isEmpty ? base : base + " " + progress.detail
    }

    init(wire: WireMessage.JobStatus, report: JobReport? = nil) {
        let (completed, total, detail) = JobStatus.parseProgress(wire.progressText)
        self.init(
            id: wire.jobID, kind: wire.kind, state: JobState(wire: wire.state),
            progress: JobProgress(completed: completed, total: total, detail: detail), tasksDone: wire.tasksDone,
            tasksCreated: wire.tasksTotal, tasksRunning: wire.tasksRunning, retries: wire.retries,
            elapsedSeconds: wire.elapsed.seconds, submittedAtUnixMilliseconds: wire.submittedAtUnixMilliseconds,
            failure: wire.errorMessage.isEmpty ? nil : wire.errorMessage, report: report)
    }

    /// Splits `"3/10 tasks"` into its parts; text in another shape becomes the detail with zero counts.
    static func parseProgress(_ text: String) -> (Int, Int, String) {
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        let counts = parts.first?.split(separator: "/").compactMap { Int($0) } ?? []
        guard counts.count == 2 else { return (0, 0, text) }
        return (counts[0], counts[1], parts.count > 1 ? parts[1] : "")
    }
}

extension WorkerStatus {
    var wireMessage: WireMessage.WorkerStatus {
        WireMessage.WorkerStatus(
            workerID: id, name: name, address: address, processID: Int(processID),
            state: WireMessage.WorkerState(rawValue: state) ?? .unspecified, slotsUsed: slotsUsed,
            slotsTotal: slotsTotal, tasksDone: tasksDone,
            lastHeartbeatAge: .milliseconds(Int64(lastHeartbeatAgeSeconds * 1000)))
    }

    init(wire: WireMessage.WorkerStatus) {
        self.init(
            id: wire.workerID, name: wire.name, address: wire.address, processID: Int32(clamping: wire.processID),
            state: wire.state.rawValue, slotsUsed: wire.slotsUsed, slotsTotal: wire.slotsTotal,
            tasksDone: wire.tasksDone, lastHeartbeatAgeSeconds: wire.lastHeartbeatAge.seconds)
    }
}

extension ClusterStatus {
    func wireMessage(coordinatorID: String) -> WireMessage.StatusReply {
        WireMessage.StatusReply(
            workers: workers.map(\.wireMessage), jobs: jobs.map(\.wireMessage), coordinatorID: coordinatorID,
            coordinatorAddress: coordinator.address, coordinatorProcessID: Int(coordinator.processID),
            uptime: .milliseconds(Int64(coordinator.uptimeSeconds * 1000)))
    }

    /// Rebuilds a status from a reply; task counts are summed from the jobs, since the reply carries no totals.
    init(wire: WireMessage.StatusReply) {
        let jobs = wire.jobs.map { JobStatus(wire: $0) }
        let running = jobs.reduce(0) { $0 + $1.tasksRunning }
        let queued = jobs.filter { $0.state == .running }.reduce(0) {
            $0 + max(0, $1.tasksCreated - $1.tasksDone - $1.tasksRunning)
        }
        self.init(
            coordinator: CoordinatorInfo(
                address: wire.coordinatorAddress, processID: Int32(clamping: wire.coordinatorProcessID),
                uptimeSeconds: wire.uptime.seconds, isStopping: false),
            workers: wire.workers.map { WorkerStatus(wire: $0) }, jobs: jobs,
            tasks: TaskCounts(
                queued: queued, running: running, succeeded: jobs.reduce(0) { $0 + $1.tasksDone }, failed: 0,
                retried: jobs.reduce(0) { $0 + $1.retries }, duplicatesDropped: 0))
    }
}
