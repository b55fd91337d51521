import Testing

@testable import ElideCluster

/// A job whose tasks carry affinity keys, as pipeline stages do: tasks 0…3 with keys k0, k0, k1, k1.
enum AffinityJob {
    static let keys = ["k0", "k0", "k1", "k1"]

    struct Driver: JobDriver {
        var done = 0

        mutating func start() throws -> DriverStep {
            let tasks = AffinityJob.keys.enumerated().map { index, key in
                TaskRequest(index: UInt64(index), executor: "affinity-echo", payload: [], affinity: key)
            }
            return DriverStep(newTasks: tasks, progress: JobProgress(completed: 0, total: tasks.count))
        }

        mutating func handle(taskIndex: UInt64, output: [UInt8]) throws -> DriverStep {
            done += 1
            let progress = JobProgress(completed: done, total: AffinityJob.keys.count)
            guard done == AffinityJob.keys.count else { return DriverStep(progress: progress) }
            return DriverStep(progress: progress, report: JobReport(summary: "done", values: [:]))
        }
    }

    struct Echo: TaskExecutor {
        var kind: String { "affinity-echo" }

        func execute(payload: [UInt8], seed: UInt64, context: TaskContext) throws -> [UInt8] {
            ByteCoding.bytes(of: context.task.task.index)
        }
    }

    static let kind = JobKind(
        name: "affinity", summary: "Tasks with affinity keys.", options: [], makeDriver: { _ in Driver() },
        executors: [Echo()])
}

/// Affinity keys through the coordinator core: from the driver's requests to the scheduler, also after a
/// journal replay.
struct AffinityJobTests {
    let registry = JobKindRegistry([AffinityJob.kind])
    let journal = MemoryJournal()
    var clock = FakeClock()

    func makeCore(journal: MemoryJournal) -> CoordinatorCore {
        CoordinatorCore(registry: registry, journal: journal, logger: LogCapture().logger())
    }

    /// Registers two one-slot workers, runs the job to its end and returns the worker of each task index.
    mutating func runOnTwoWorkers(_ core: inout CoordinatorCore, job: JobID) throws -> [UInt64: WorkerID] {
        var pending: [CoordinatorDirective] = []
        for name in ["a", "b"] {
            let registration = WorkerRegistration(name: name, address: "127.0.0.1:1", processID: 1, slots: 1)
            pending += core.registerWorker(registration, now: clock.now).1
        }
        var placed: [UInt64: WorkerID] = [:]
        while let directive = pending.first {
            pending.removeFirst()
            guard case .assign(let assignment, let worker) = directive else { continue }
            placed[assignment.attempt.task.index] = worker
            clock.advance(.milliseconds(5))
            pending += try core.taskSucceeded(
                assignment.attempt, worker: worker, output: try execute(assignment, registry: registry),
                now: clock.now, wallTime: 100)
        }
        #expect(core.jobs[job]?.state == .succeeded)
        return placed
    }

    @Test mutating func tasksOfOneKeyRunOnOneWorker() throws {
        var core = makeCore(journal: journal)
        let (job, _) = try core.submit(JobSpec(kind: "affinity", seed: 1), wallTime: 100)
        let placed = try runOnTwoWorkers(&core, job: job)
        #expect(placed.count == 4)
        #expect(placed[0] == placed[1])
        #expect(placed[2] == placed[3])
        #expect(placed[0] != placed[2], "the two keys should spread over the two workers")
    }

    @Test mutating func replayedTasksKeepTheirKeys() throws {
        var original = makeCore(journal: journal)
        let (job, _) = try original.submit(JobSpec(kind: "affinity", seed: 1), wallTime: 100)

        var restarted = makeCore(journal: MemoryJournal())
        try restarted.replay(journal.records)
        #expect(restarted.jobs[job]?.request(for: 1)?.affinity == "k0")
        let placed = try runOnTwoWorkers(&restarted, job: job)
        #expect(placed[0] == placed[1])
        #expect(placed[2] == placed[3])
        #expect(placed[0] != placed[2])
    }
}
