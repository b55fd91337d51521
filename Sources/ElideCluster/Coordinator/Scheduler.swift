/// Settings of the `Scheduler`.
public struct SchedulerSettings: Sendable, Equatable {
    /// How many times a task goes back to the queue after losing its worker; one more loss fails its job.
    /// Default 3, as Ray's task retries and Dask's `allowed-failures`.
    public var maxWorkerLossRetries: Int

    public init(maxWorkerLossRetries: Int = 3) {
        precondition(maxWorkerLossRetries >= 0, "maxWorkerLossRetries must be >= 0, got \(maxWorkerLossRetries)")
        self.maxWorkerLossRetries = maxWorkerLossRetries
    }
}

/// A task handed to a worker.
public struct Assignment: Hashable, Sendable {
    public let attempt: TaskAttempt
    public let worker: WorkerID
}

/// Places queued tasks in free worker slots. Pure: no clock and no I/O.
///
/// - Jobs are served first in, first out by job id. Within a job, tasks that lost their worker go first,
///   then the rest in the order the driver produced them.
/// - Among workers with a free slot the scheduler picks the one that has most of the task's artifacts
///   cached, then the one with most free slots, then the lowest id, so placement is deterministic.
/// - Tasks with an affinity key (`TaskRequest.affinity`) stay together: the job's first task with key K
///   picks a worker, preferring one that owns no other key of the job so that keys spread over workers, and
///   that worker owns K. Later K tasks wait for a free slot on the owner while tasks behind them in the
///   queue may go elsewhere. A worker that is removed or stops accepting tasks loses its keys, and the
///   next task with such a key picks a new owner.
/// - A result counts only for the live attempt of a task on the worker it was given to.
public struct Scheduler: Sendable {
    public let settings: SchedulerSettings

    struct WorkerEntry: Sendable {
        var slots: Int
        var running: Set<TaskAttempt> = []
        var artifacts: Set<ArtifactDigest>
        var isAccepting = true

        var freeSlots: Int { isAccepting ? slots - running.count : 0 }
    }

    struct QueuedTask: Sendable {
        let task: TaskID
        let artifacts: [ArtifactDigest]
        let affinity: String?
    }

    /// Tasks of one job waiting for a slot: requeued tasks (a stack) before fresh ones (read from `head`).
    struct JobQueue: Sendable {
        var requeued: [QueuedTask] = []
        var fresh: [QueuedTask] = []
        var head = 0

        var isEmpty: Bool { requeued.isEmpty && head == fresh.count }

        mutating func pop() -> QueuedTask? {
            if let task = requeued.popLast() { return task }
            guard head < fresh.count else { return nil }
            head += 1
            return fresh[head - 1]
        }
    }

    private var workers: [WorkerID: WorkerEntry] = [:]
    private var queues: [JobID: JobQueue] = [:]
    /// Tasks currently waiting; a popped task not in this set was finished or removed and is skipped.
    private var queued: Set<TaskID> = []
    private var running: [TaskID: Assignment] = [:]
    /// Placement facts of every queued or running task, kept to requeue it.
    private var placementByTask: [TaskID: QueuedTask] = [:]
    /// The worker that owns each affinity key, per job.
    private var affinityOwners: [JobID: [String: WorkerID]] = [:]
    private var lastAttempt: [TaskID: UInt32] = [:]
    private var losses: [TaskID: Int] = [:]

    public init(settings: SchedulerSettings = SchedulerSettings()) {
        self.settings = settings
    }

    // MARK: - Workers

    public mutating func addWorker(_ worker: WorkerID, slots: Int, artifacts: Set<ArtifactDigest> = []) {
        precondition(workers[worker] == nil, "worker \(worker) is already registered")
        workers[worker] = WorkerEntry(slots: max(0, slots), artifacts: artifacts)
    }

    /// Stops or resumes giving new tasks to a worker, for example while it drains before shutting down.
    /// A worker that stops accepting tasks gives up its affinity keys, because the state they name leaves
    /// with it.
    public mutating func setAccepting(_ worker: WorkerID, _ isAccepting: Bool) {
        workers[worker]?.isAccepting = isAccepting
        if !isAccepting { releaseAffinity(of: worker) }
    }

    /// Records that a worker's cache now contains an artifact.
    public mutating func addArtifact(_ digest: ArtifactDigest, to worker: WorkerID) {
        workers[worker]?.artifacts.insert(digest)
    }

    /// Removes a lost worker and requeues its running tasks; tasks that already lost their worker
    /// `maxWorkerLossRetries` times are returned as exhausted and not requeued.
    public mutating func removeWorker(_ worker: WorkerID) -> WorkerLoss {
        guard let entry = workers.removeValue(forKey: worker) else { return WorkerLoss() }
        releaseAffinity(of: worker)
        var loss = WorkerLoss()
        for attempt in entry.running.sorted(by: { $0.task < $1.task }) {
            running[attempt.task] = nil
            let count = losses[attempt.task, default: 0] + 1
            losses[attempt.task] = count
            if count > settings.maxWorkerLossRetries {
                loss.exhausted.append(attempt)
                forget(attempt.task)
            } else {
                loss.requeued.append(attempt)
                requeue(attempt.task)
            }
        }
        return loss
    }

    // MARK: - Tasks

    /// Appends a job's new tasks, without affinity keys, to its queue.
    public mutating func enqueue(job: JobID, tasks: [(index: UInt64, artifacts: [ArtifactDigest])]) {
        enqueue(job: job, entries: tasks.map { (index: $0.index, artifacts: $0.artifacts, affinity: nil) })
    }

    /// Appends a job's new tasks to its queue, with their artifacts and affinity keys.
    public mutating func enqueue(job: JobID, requests: [TaskRequest]) {
        enqueue(job: job, entries: requests.map { (index: $0.index, artifacts: $0.artifacts, affinity: $0.affinity) })
    }

    private mutating func enqueue(
        job: JobID, entries: [(index: UInt64, artifacts: [ArtifactDigest], affinity: String?)]
    ) {
        var queue = queues[job] ?? JobQueue()
        for entry in entries {
            let id = TaskID(job: job, index: entry.index)
            guard !queued.contains(id), running[id] == nil else { continue }
            let task = QueuedTask(task: id, artifacts: entry.artifacts, affinity: entry.affinity)
            queue.fresh.append(task)
            queued.insert(id)
            placementByTask[id] = task
        }
        queues[job] = queue
    }

    /// Fills free slots, returning the new assignments in the order they were made.
    public mutating func assign() -> [Assignment] {
        var assignments: [Assignment] = []
        var freeSlots = workers.values.reduce(0) { $0 + $1.freeSlots }
        for job in queues.keys.sorted() where freeSlots > 0 {
            // Tasks whose affinity owner has no free slot; they keep their place at the front of the queue.
            var waiting: [QueuedTask] = []
            while freeSlots > 0, let next = queues[job]?.pop() {
                guard queued.contains(next.task) else { continue }
                guard let worker = placement(for: next) else {
                    waiting.append(next)
                    continue
                }
                queued.remove(next.task)
                if let key = next.affinity, affinityOwners[job]?[key] == nil {
                    affinityOwners[job, default: [:]][key] = worker
                }
                let attempt = TaskAttempt(task: next.task, attempt: lastAttempt[next.task, default: 0] + 1)
                lastAttempt[next.task] = attempt.attempt
                workers[worker]?.running.insert(attempt)
                workers[worker]?.artifacts.formUnion(next.artifacts)
                running[next.task] = Assignment(attempt: attempt, worker: worker)
                assignments.append(Assignment(attempt: attempt, worker: worker))
                freeSlots -= 1
            }
            // `requeued` is a stack, so the first waiting task goes on last.
            queues[job]?.requeued.append(contentsOf: waiting.reversed())
            if queues[job]?.isEmpty == true { queues[job] = nil }
        }
        return assignments
    }

    /// Accepts a result if it belongs to the live attempt on `worker` and frees the slot. Returns false for a
    /// late or duplicate result, which the caller drops.
    public mutating func complete(_ attempt: TaskAttempt, from worker: WorkerID) -> Bool {
        guard let live = running[attempt.task], live.attempt == attempt, live.worker == worker else { return false }
        workers[worker]?.running.remove(attempt)
        forget(attempt.task)
        return true
    }

    /// Removes a task wherever it is, as when replaying a journaled result after a restart.
    public mutating func finish(_ task: TaskID) {
        if let live = running[task] { workers[live.worker]?.running.remove(live.attempt) }
        forget(task)
    }

    /// Puts a task its worker gave back unfinished (while draining) at the front of its job's queue, without
    /// counting a loss.
    public mutating func handBack(_ attempt: TaskAttempt, from worker: WorkerID) -> Bool {
        guard let live = running[attempt.task], live.attempt == attempt, live.worker == worker else { return false }
        workers[worker]?.running.remove(attempt)
        running[attempt.task] = nil
        requeue(attempt.task)
        return true
    }

    /// Drops a job's queued tasks and returns its running assignments, which the caller cancels on workers.
    public mutating func removeJob(_ job: JobID) -> [Assignment] {
        queues[job] = nil
        affinityOwners[job] = nil
        let stale = queued.filter { $0.job == job }
        queued.subtract(stale)
        for task in stale { forget(task) }
        let live = running.values.filter { $0.attempt.task.job == job }.sorted { $0.attempt.task < $1.attempt.task }
        for assignment in live {
            workers[assignment.worker]?.running.remove(assignment.attempt)
            forget(assignment.attempt.task)
        }
        return live
    }

    // MARK: - Queries

    public var queuedCount: Int { queued.count }
    public var runningCount: Int { running.count }
    public var workerIDs: [WorkerID] { workers.keys.sorted() }

    public func runningCount(of job: JobID) -> Int { running.keys.reduce(0) { $0 + ($1.job == job ? 1 : 0) } }

    public func slotsUsed(_ worker: WorkerID) -> Int { workers[worker]?.running.count ?? 0 }
    public func slotsTotal(_ worker: WorkerID) -> Int { workers[worker]?.slots ?? 0 }
    public func isAccepting(_ worker: WorkerID) -> Bool { workers[worker]?.isAccepting ?? false }
    public func assignment(of task: TaskID) -> Assignment? { running[task] }
    public func isQueued(_ task: TaskID) -> Bool { queued.contains(task) }

    /// Returns the worker that owns a job's affinity key, or nil when no task with the key has been placed
    /// since the last owner left.
    public func affinityOwner(job: JobID, key: String) -> WorkerID? { affinityOwners[job]?[key] }

    public func runningAttempts(on worker: WorkerID) -> [TaskAttempt] {
        (workers[worker]?.running ?? []).sorted { $0.task < $1.task }
    }

    // MARK: - Helpers

    /// Returns the worker that should run `task` now, or nil when it must wait: no slot is free, or its
    /// affinity owner has none.
    private func placement(for task: QueuedTask) -> WorkerID? {
        guard let key = task.affinity else { return bestWorker(for: task.artifacts) }
        let owners = affinityOwners[task.task.job] ?? [:]
        if let owner = owners[key] {
            return (workers[owner]?.freeSlots ?? 0) > 0 ? owner : nil
        }
        return bestWorker(for: task.artifacts, avoiding: Set(owners.values))
    }

    /// Picks among workers with a free slot: first one outside `avoiding`, then most artifacts cached, then
    /// most free slots, then the lowest id.
    private func bestWorker(for artifacts: [ArtifactDigest], avoiding: Set<WorkerID> = []) -> WorkerID? {
        var best: (id: WorkerID, fresh: Int, held: Int, free: Int)? = nil
        for (id, entry) in workers where entry.freeSlots > 0 {
            let held = artifacts.reduce(0) { $0 + (entry.artifacts.contains($1) ? 1 : 0) }
            let candidate = (id: id, fresh: avoiding.contains(id) ? 0 : 1, held: held, free: entry.freeSlots)
            guard let current = best else {
                best = candidate
                continue
            }
            if (candidate.fresh, candidate.held, candidate.free, current.id)
                > (current.fresh, current.held, current.free, candidate.id)
            {
                best = candidate
            }
        }
        return best?.id
    }

    private mutating func releaseAffinity(of worker: WorkerID) {
        for job in affinityOwners.keys {
            affinityOwners[job] = affinityOwners[job]?.filter { $0.value != worker }
        }
    }

    private mutating func requeue(_ task: TaskID) {
        let placement = placementByTask[task] ?? QueuedTask(task: task, artifacts: [], affinity: nil)
        queues[task.job, default: JobQueue()].requeued.append(placement)
        queued.insert(task)
    }

    private mutating func forget(_ task: TaskID) {
        running[task] = nil
        queued.remove(task)
        placementByTask[task] = nil
        lastAttempt[task] = nil
        losses[task] = nil
    }
}

/// The effect of losing a worker on its running tasks.
public struct WorkerLoss: Sendable, Equatable {
    /// Attempts that were running on the worker and whose tasks went back to the queue.
    public var requeued: [TaskAttempt] = []
    /// Attempts whose tasks ran out of retries; their jobs fail.
    public var exhausted: [TaskAttempt] = []
}
