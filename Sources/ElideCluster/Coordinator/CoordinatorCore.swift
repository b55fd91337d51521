import ElideSupport

/// Settings of the coordinator's pure core.
public struct CoordinatorSettings: Sendable, Equatable {
    public var scheduler: SchedulerSettings
    public var failureDetector: FailureDetectorSettings
    /// How many lost workers `elide status` keeps listing as dead. Default 16.
    public var recentlyLostWorkers: Int

    public init(
        scheduler: SchedulerSettings = SchedulerSettings(),
        failureDetector: FailureDetectorSettings = FailureDetectorSettings(), recentlyLostWorkers: Int = 16
    ) {
        self.scheduler = scheduler
        self.failureDetector = failureDetector
        self.recentlyLostWorkers = recentlyLostWorkers
    }
}

/// A worker's description of itself at registration.
public struct WorkerRegistration: Sendable, Equatable {
    public var name: String
    /// The peer address of the worker's connection, `HOST:PORT`.
    public var address: String
    public var processID: Int32
    public var slots: Int
    /// Artifacts already in the worker's cache.
    public var artifacts: [ArtifactDigest]

    public init(name: String, address: String, processID: Int32, slots: Int, artifacts: [ArtifactDigest] = []) {
        self.name = name
        self.address = address
        self.processID = processID
        self.slots = slots
        self.artifacts = artifacts
    }
}

/// Everything a worker needs to run one task attempt.
public struct TaskAssignment: Sendable, Equatable {
    public var attempt: TaskAttempt
    public var executor: String
    public var payload: [UInt8]
    /// Derived from the job seed and the task index; the same for every attempt.
    public var seed: UInt64
    public var artifacts: [ArtifactDigest]
}

/// An action the daemon shell must carry out.
public enum CoordinatorDirective: Sendable, Equatable {
    case assign(TaskAssignment, to: WorkerID)
    /// Stop a running attempt; the worker drops its result.
    case cancel(TaskAttempt, on: WorkerID)
    /// Close the worker's connection, for example after it was declared dead.
    case disconnect(WorkerID, reason: String)
    /// Wake clients waiting for the job.
    case jobFinished(JobID, JobState)
    /// Put these contents into the artifact store; comes before any assignment of a task that names them.
    case storeArtifacts([[UInt8]])
}

/// Errors returned to clients of the coordinator.
public enum CoordinatorError: Error, CustomStringConvertible, Equatable {
    case invalidJob(String)
    case jobNotFound(JobID)
    case jobAlreadyFinished(JobID, JobState)
    case stopping

    public var description: String {
        switch self {
        case .invalidJob(let message): return "job rejected: \(message)"
        case .jobNotFound(let job): return "job \(job) not found; 'elide jobs' lists the known jobs"
        case .jobAlreadyFinished(let job, let state): return "job \(job) already finished (\(state.rawValue))"
        case .stopping: return "the coordinator is shutting down and accepts no new jobs; submit again after restart"
        }
    }
}

/// Counters for `/metrics` that status snapshots do not carry.
public struct CoordinatorMetrics: Sendable, Equatable {
    public internal(set) var taskLatency = LatencyHistogram()
    public internal(set) var workersRegistered = 0
    public internal(set) var workersLost = 0
}

/// The coordinator's state machine: jobs, scheduling, failure detection and journaling, driven by events and
/// the current time, returning directives for the daemon shell. It does no I/O itself: the journal is an
/// injected `JournalWriter`. Not thread-safe; the shell serialises calls.
public struct CoordinatorCore: Sendable {
    public let settings: CoordinatorSettings
    public private(set) var jobs: JobTable
    public private(set) var scheduler: Scheduler
    public private(set) var detector: FailureDetector
    public private(set) var metrics = CoordinatorMetrics()
    public private(set) var isStopping = false
    private let journal: any JournalWriter
    private let logger: Logger

    struct WorkerRecord: Sendable {
        var registration: WorkerRegistration
        var tasksDone = 0
        var isDraining = false
        var lostAt: MonotonicInstant?
    }

    private var workers: [WorkerID: WorkerRecord] = [:]
    private var lostWorkers: [(id: WorkerID, record: WorkerRecord)] = []
    private var nextWorkerID = WorkerID(1)
    private var assignedAt: [TaskAttempt: MonotonicInstant] = [:]
    private var tasksSucceeded = 0
    private var tasksFailed = 0
    private var retries = 0
    private var duplicatesDropped = 0

    public init(
        registry: JobKindRegistry, settings: CoordinatorSettings = CoordinatorSettings(), journal: any JournalWriter,
        logger: Logger
    ) {
        self.settings = settings
        self.jobs = JobTable(registry: registry)
        self.scheduler = Scheduler(settings: settings.scheduler)
        self.detector = FailureDetector(settings: settings.failureDetector)
        self.journal = journal
        self.logger = logger
    }

    // MARK: - Journal replay

    /// Rebuilds jobs from journaled records without writing them again. Call before any worker registers.
    /// Returns the `storeArtifacts` directives of the replayed steps: the artifacts that drivers derive from
    /// results, which the shell stores again in case its store lost them.
    @discardableResult
    public mutating func replay(_ records: [JournalRecord]) throws -> [CoordinatorDirective] {
        var artifacts: [CoordinatorDirective] = []
        for record in records {
            for directive in try apply(record) {
                if case .storeArtifacts = directive { artifacts.append(directive) }
            }
        }
        let running = jobs.orderedJobs.filter { $0.state == .running }.count
        logger.info(
            "journal replayed", ("journal.records", String(records.count)), ("jobs", String(jobs.jobs.count)),
            ("jobs.running", String(running)), ("tasks.queued", String(scheduler.queuedCount)))
        return artifacts
    }

    // MARK: - Clients

    /// Validates, journals and starts a job; returns its id once the submission is durable.
    public mutating func submit(_ spec: JobSpec, wallTime: Double) throws -> (JobID, [CoordinatorDirective]) {
        guard !isStopping else { throw CoordinatorError.stopping }
        do {
            var driver = try jobs.registry.makeDriver(for: spec)
            _ = try driver.start()
        } catch {
            throw CoordinatorError.invalidJob("\(error)")
        }
        let id = jobs.nextJobID
        let directives = try record(.jobSubmitted(id, spec), time: wallTime)
        logger.info("job submitted", ("job.id", id.description), ("job.kind", spec.kind))
        return (id, directives)
    }

    public mutating func cancel(_ job: JobID, wallTime: Double) throws -> [CoordinatorDirective] {
        guard let entry = jobs[job] else { throw CoordinatorError.jobNotFound(job) }
        guard entry.state == .running else { throw CoordinatorError.jobAlreadyFinished(job, entry.state) }
        logger.info("job cancelled", ("job.id", job.description))
        return try record(.jobCancelled(job), time: wallTime)
    }

    /// Rejects new jobs from now on; running jobs continue.
    public mutating func beginStopping() {
        isStopping = true
    }

    // MARK: - Workers

    public mutating func registerWorker(
        _ registration: WorkerRegistration, now: MonotonicInstant
    ) -> (WorkerID, [CoordinatorDirective]) {
        let id = nextWorkerID
        nextWorkerID = WorkerID(id.rawValue + 1)
        workers[id] = WorkerRecord(registration: registration)
        scheduler.addWorker(id, slots: registration.slots, artifacts: Set(registration.artifacts))
        detector.register(id, now: now)
        metrics.workersRegistered += 1
        logger.info(
            "worker registered", ("worker.id", id.description), ("worker.name", registration.name),
            ("worker.address", registration.address), ("worker.slots", String(registration.slots)))
        return (id, assignNow(now: now))
    }

    public mutating func heartbeat(from worker: WorkerID, now: MonotonicInstant) {
        if detector.heartbeat(worker, now: now) == .alive {
            logger.info("worker recovered", ("worker.id", worker.description))
        }
    }

    /// Stops giving the worker new tasks; it finishes or hands back what it runs, then deregisters.
    public mutating func drain(_ worker: WorkerID) {
        guard workers[worker] != nil else { return }
        workers[worker]?.isDraining = true
        scheduler.setAccepting(worker, false)
        logger.info("worker draining", ("worker.id", worker.description))
    }

    /// Records that a worker fetched an artifact, so later tasks that read it prefer this worker.
    public mutating func workerHolds(_ digest: ArtifactDigest, worker: WorkerID) {
        scheduler.addArtifact(digest, to: worker)
    }

    /// Handles a worker that deregistered: tasks still assigned to it, such as assignments that crossed its
    /// deregistration, go back to the queue without counting as a loss.
    public mutating func workerLeft(
        _ worker: WorkerID, now: MonotonicInstant, wallTime: Double
    ) throws -> [CoordinatorDirective] {
        guard workers[worker] != nil else { return [] }
        workers[worker]?.isDraining = true
        scheduler.setAccepting(worker, false)
        var directives: [CoordinatorDirective] = []
        for attempt in scheduler.runningAttempts(on: worker) {
            directives += taskHandedBack(attempt, worker: worker, now: now)
        }
        return try directives + workerLost(worker, reason: "deregistered", now: now, wallTime: wallTime)
    }

    /// Handles a closed connection or a worker declared dead: its running tasks go back to the queue, or fail
    /// their job when they ran out of retries.
    public mutating func workerLost(
        _ worker: WorkerID, reason: String, now: MonotonicInstant, wallTime: Double
    ) throws -> [CoordinatorDirective] {
        guard var record = workers.removeValue(forKey: worker) else { return [] }
        let loss = scheduler.removeWorker(worker)
        detector.remove(worker)
        metrics.workersLost += record.isDraining ? 0 : 1
        record.lostAt = now
        lostWorkers.append((worker, record))
        if lostWorkers.count > settings.recentlyLostWorkers { lostWorkers.removeFirst() }

        let level: Logger.Level = record.isDraining && loss.requeued.isEmpty ? .info : .warning
        logger.log(
            level, record.isDraining ? "worker left" : "worker lost",
            metadata: [
                ("worker.id", worker.description), ("worker.name", record.registration.name), ("reason", reason),
                ("tasks.requeued", String(loss.requeued.count)),
            ])

        var directives: [CoordinatorDirective] = []
        for attempt in loss.requeued {
            assignedAt[attempt] = nil
            retries += 1
            jobs.countRetry(of: attempt.task.job)
            logger.info(
                "task requeued after worker loss", ("task.id", attempt.task.description),
                ("task.attempt", String(attempt.attempt)), ("worker.id", worker.description))
        }
        for attempt in loss.exhausted {
            assignedAt[attempt] = nil
            guard jobs[attempt.task.job]?.state == .running else { continue }
            let message =
                "task \(attempt.task) lost its worker \(settings.scheduler.maxWorkerLossRetries + 1) times, last "
                + "\(worker) (\(record.registration.name), \(reason)); workers running it may be crashing or "
                + "running out of memory: check their logs, or raise --heartbeat-timeout if they are only slow"
            directives += try self.record(.jobFailed(attempt.task.job, message: message), time: wallTime)
        }
        return directives + assignNow(now: now)
    }

    // MARK: - Results

    /// Accepts a task's output if it comes from the live attempt, journals it and feeds it to the driver.
    public mutating func taskSucceeded(
        _ attempt: TaskAttempt, worker: WorkerID, output: [UInt8], now: MonotonicInstant, wallTime: Double
    ) throws -> [CoordinatorDirective] {
        guard scheduler.complete(attempt, from: worker) else {
            dropDuplicate(attempt, worker: worker)
            return []
        }
        observeCompletion(attempt, worker: worker, now: now)
        tasksSucceeded += 1
        return try record(.resultAccepted(attempt, worker: worker, output: output), time: wallTime)
    }

    /// Fails the task's job with the executor's error; task errors are not retried.
    public mutating func taskFailed(
        _ attempt: TaskAttempt, worker: WorkerID, message: String, now: MonotonicInstant, wallTime: Double
    ) throws -> [CoordinatorDirective] {
        guard scheduler.complete(attempt, from: worker) else {
            dropDuplicate(attempt, worker: worker)
            return []
        }
        observeCompletion(attempt, worker: worker, now: now)
        tasksFailed += 1
        let name = workers[worker]?.registration.name ?? "?"
        logger.warning(
            "task failed", ("task.id", attempt.task.description), ("worker.id", worker.description), ("error", message))
        let failure = "task \(attempt.task) failed on worker \(worker) (\(name)): \(message)"
        return try record(.jobFailed(attempt.task.job, message: failure), time: wallTime)
    }

    /// Requeues a task a draining worker gave back unfinished, without counting it as a loss.
    public mutating func taskHandedBack(
        _ attempt: TaskAttempt, worker: WorkerID, now: MonotonicInstant
    ) -> [CoordinatorDirective] {
        guard scheduler.handBack(attempt, from: worker) else { return [] }
        assignedAt[attempt] = nil
        logger.info("task handed back", ("task.id", attempt.task.description), ("worker.id", worker.description))
        return assignNow(now: now)
    }

    // MARK: - Time

    /// Advances failure detection; dead workers are disconnected and their tasks requeued.
    public mutating func tick(now: MonotonicInstant, wallTime: Double) throws -> [CoordinatorDirective] {
        var directives: [CoordinatorDirective] = []
        for (worker, health) in detector.evaluate(now: now) {
            let silence = (detector.lastHeartbeat(of: worker).map { now - $0 } ?? .zero).seconds
            let ageText = String(Int(silence * 1000)) + "ms"
            switch health {
            case .alive:
                break
            case .suspect:
                logger.warning(
                    "worker missed heartbeats", ("worker.id", worker.description), ("heartbeat.age", ageText))
            case .dead:
                let reason =
                    "no heartbeat for \(ageText) (timeout \(settings.failureDetector.deadTimeout)): the worker "
                    + "crashed, hung, or its network is down"
                directives.append(.disconnect(worker, reason: reason))
                directives += try workerLost(worker, reason: reason, now: now, wallTime: wallTime)
            }
        }
        return directives
    }

    // MARK: - Applying journaled events

    /// Journals a record, then applies it. A journal error leaves the core unusable; the daemon must exit.
    private mutating func record(_ event: JournalRecord.Event, time: Double) throws -> [CoordinatorDirective] {
        let record = JournalRecord(time: time, event: event)
        try journal.append(record)
        return try apply(record)
    }

    private mutating func apply(_ record: JournalRecord) throws -> [CoordinatorDirective] {
        let time = record.time
        switch record.event {
        case .jobSubmitted(let id, let spec):
            guard jobs[id] == nil else { throw JournalError.inconsistent("job \(id) submitted twice") }
            let change = jobs.submit(id, spec: spec, time: time)
            return apply(change, to: id)
        case .resultAccepted(let attempt, _, let output):
            scheduler.finish(attempt.task)
            let change = try jobs.accept(attempt.task, output: output, time: time)
            return apply(change, to: attempt.task.job)
        case .jobFailed(let id, let message):
            guard jobs.finish(id, state: .failed, failure: message, time: time) else { return [] }
            return apply(JobChange(finished: true), to: id)
        case .jobCancelled(let id):
            guard jobs.finish(id, state: .cancelled, failure: "cancelled by a user", time: time) else { return [] }
            return apply(JobChange(finished: true), to: id)
        }
    }

    private mutating func apply(_ change: JobChange, to job: JobID) -> [CoordinatorDirective] {
        var directives: [CoordinatorDirective] = []
        if !change.artifacts.isEmpty, !change.finished { directives.append(.storeArtifacts(change.artifacts)) }
        if change.finished {
            for assignment in scheduler.removeJob(job) {
                assignedAt[assignment.attempt] = nil
                directives.append(.cancel(assignment.attempt, on: assignment.worker))
            }
            let state = jobs[job]?.state ?? .failed
            directives.append(.jobFinished(job, state))
            if state == .failed, let failure = jobs[job]?.failure {
                logger.warning("job failed", ("job.id", job.description), ("error", failure))
            } else {
                logger.info("job finished", ("job.id", job.description), ("job.state", state.rawValue))
            }
        } else if !change.newTasks.isEmpty {
            scheduler.enqueue(job: job, requests: change.newTasks)
        }
        return directives + assignNow(now: nil)
    }

    /// Fills free slots. `now` is nil during replay, when no worker is connected.
    private mutating func assignNow(now: MonotonicInstant?) -> [CoordinatorDirective] {
        var directives: [CoordinatorDirective] = []
        for assignment in scheduler.assign() {
            let task = assignment.attempt.task
            // !-safe: the scheduler contains only tasks of running jobs, whose pending requests the table keeps.
            let entry = jobs[task.job]!
            let request = entry.request(for: task.index)!
            assignedAt[assignment.attempt] = now ?? MonotonicInstant.now()
            let seed = TaskSeed.derive(jobSeed: entry.spec.seed, taskIndex: task.index)
            let message = TaskAssignment(
                attempt: assignment.attempt, executor: request.executor, payload: request.payload, seed: seed,
                artifacts: request.artifacts)
            directives.append(.assign(message, to: assignment.worker))
        }
        return directives
    }

    private mutating func observeCompletion(_ attempt: TaskAttempt, worker: WorkerID, now: MonotonicInstant) {
        workers[worker]?.tasksDone += 1
        if let start = assignedAt.removeValue(forKey: attempt) {
            metrics.taskLatency.observe(max(0, (now - start).seconds))
        }
    }

    private mutating func dropDuplicate(_ attempt: TaskAttempt, worker: WorkerID) {
        duplicatesDropped += 1
        logger.debug(
            "dropping a late or duplicate result", ("task.id", attempt.task.description),
            ("task.attempt", String(attempt.attempt)), ("worker.id", worker.description))
    }

    // MARK: - Status

    public func status(now: MonotonicInstant, wallTime: Double, coordinator: CoordinatorInfo) -> ClusterStatus {
        var workerRows: [WorkerStatus] = []
        for id in workers.keys.sorted() {
            // !-safe: id comes from workers.keys.
            let record = workers[id]!
            let health = detector.health(of: id) ?? .alive
            let age = detector.lastHeartbeat(of: id).map { (now - $0).seconds } ?? 0
            workerRows.append(
                row(id, record, state: record.isDraining ? "draining" : health.rawValue, age: age, slotsUsed: id))
        }
        for (id, record) in lostWorkers {
            let age = record.lostAt.map { (now - $0).seconds } ?? 0
            workerRows.append(row(id, record, state: "dead", age: age, slotsUsed: nil))
        }

        let jobRows = jobs.orderedJobs.map { entry in
            JobStatus(
                id: entry.id.description, kind: entry.spec.kind, state: entry.state, progress: entry.progress,
                tasksDone: entry.tasksDone, tasksCreated: entry.tasksCreated,
                tasksRunning: scheduler.runningCount(of: entry.id), retries: entry.retries,
                elapsedSeconds: max(0, (entry.finishedAt ?? wallTime) - entry.submittedAt),
                submittedAtUnixMilliseconds: Int(entry.submittedAt * 1000), failure: entry.failure,
                report: entry.report)
        }
        let counts = TaskCounts(
            queued: scheduler.queuedCount, running: scheduler.runningCount, succeeded: tasksSucceeded,
            failed: tasksFailed, retried: retries, duplicatesDropped: duplicatesDropped)
        return ClusterStatus(coordinator: coordinator, workers: workerRows, jobs: jobRows, tasks: counts)
    }

    private func row(
        _ id: WorkerID, _ record: WorkerRecord, state: String, age: Double, slotsUsed: WorkerID?
    ) -> WorkerStatus {
        WorkerStatus(
            id: id.description, name: record.registration.name, address: record.registration.address,
            processID: record.registration.processID, state: state,
            slotsUsed: slotsUsed.map { scheduler.slotsUsed($0) } ?? 0, slotsTotal: record.registration.slots,
            tasksDone: record.tasksDone, lastHeartbeatAgeSeconds: age)
    }
}
