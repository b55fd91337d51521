import ElideSupport
import Testing

@testable import ElideCluster

/// A two-stage job: stage one squares 4 seeds, stage two sums pairs of stage-one outputs in index order,
/// the way a search driver waits for a whole generation before creating the next.
enum TwoStageJob {
    struct Driver: JobDriver {
        var stageOne: [UInt64: UInt64] = [:]
        var stageTwo: [UInt64: UInt64] = [:]

        mutating func start() throws -> DriverStep {
            let tasks = (0..<4).map { TaskRequest(index: UInt64($0), executor: "square", payload: []) }
            return DriverStep(newTasks: tasks, progress: JobProgress(completed: 0, total: 6, detail: "stage 1"))
        }

        mutating func handle(taskIndex: UInt64, output: [UInt8]) throws -> DriverStep {
            let value = try #require(ByteCoding.uint64(output))
            if taskIndex < 4 {
                stageOne[taskIndex] = value
                let progress = JobProgress(completed: stageOne.count, total: 6, detail: "stage 1")
                guard stageOne.count == 4 else { return DriverStep(progress: progress) }
                // !-safe: all four stage-one results are present.
                let pairs = [(stageOne[0]!, stageOne[1]!), (stageOne[2]!, stageOne[3]!)]
                let tasks = pairs.enumerated().map { index, pair in
                    TaskRequest(
                        index: 4 + UInt64(index), executor: "square",
                        payload: ByteCoding.bytes(of: pair.0 &+ pair.1))
                }
                return DriverStep(newTasks: tasks, progress: progress)
            }
            stageTwo[taskIndex] = value
            let progress = JobProgress(completed: 4 + stageTwo.count, total: 6, detail: "stage 2")
            guard stageTwo.count == 2 else { return DriverStep(progress: progress) }
            var checksum = FNV1a64()
            for index in stageTwo.keys.sorted() { checksum.add(stageTwo[index] ?? 0) }
            return DriverStep(
                progress: progress,
                report: JobReport(summary: "done", values: ["checksum": .string(checksum.value.hex16)]))
        }
    }

    /// Squares the payload's number, or the seed when the payload is empty.
    struct Square: TaskExecutor {
        var kind: String { "square" }

        func execute(payload: [UInt8], seed: UInt64, context: TaskContext) throws -> [UInt8] {
            let base = ByteCoding.uint64(payload) ?? seed
            return ByteCoding.bytes(of: base &* base)
        }
    }

    static let kind = JobKind(
        name: "two-stage", summary: "Two dependent stages.", options: [], makeDriver: { _ in Driver() },
        executors: [Square()])
}

struct MultiStageJobTests {
    let registry = JobKindRegistry([TwoStageJob.kind])
    let spec = JobSpec(kind: "two-stage", seed: 99)

    /// Runs assignments in reverse order of arrival, so results reach the driver out of index order.
    func run(_ core: inout CoordinatorCore, worker: WorkerID, pending: [CoordinatorDirective], limit: Int) throws {
        var queue = pending.assignments.map(\.0)
        var handled = 0
        while let assignment = queue.popLast(), handled < limit {
            let output = try execute(assignment, registry: registry)
            let directives = try core.taskSucceeded(
                assignment.attempt, worker: worker, output: output, now: .now(), wallTime: 1)
            queue.insert(contentsOf: directives.assignments.map(\.0), at: 0)
            handled += 1
        }
    }

    @Test func secondStageFollowsFirst() throws {
        var core = CoordinatorCore(registry: registry, journal: MemoryJournal(), logger: LogCapture().logger())
        let (job, _) = try core.submit(spec, wallTime: 1)
        let (worker, directives) = core.registerWorker(
            WorkerRegistration(name: "a", address: "-", processID: 1, slots: 8), now: .now())
        #expect(directives.assignments.count == 4)
        try run(&core, worker: worker, pending: directives, limit: 100)
        #expect(core.jobs[job]?.state == .succeeded)
        #expect(core.jobs[job]?.tasksCreated == 6)
    }

    @Test func replayInSecondStageMatchesUninterruptedRun() throws {
        let journal = MemoryJournal()
        var uninterrupted = CoordinatorCore(registry: registry, journal: MemoryJournal(), logger: LogCapture().logger())
        let (job, _) = try uninterrupted.submit(spec, wallTime: 1)
        let (first, initial) = uninterrupted.registerWorker(
            WorkerRegistration(name: "a", address: "-", processID: 1, slots: 8), now: .now())
        try run(&uninterrupted, worker: first, pending: initial, limit: 100)
        let expected = try #require(uninterrupted.jobs[job]?.report)

        // Stop after the four stage-one results and one stage-two result, then replay into a new core.
        var interrupted = CoordinatorCore(registry: registry, journal: journal, logger: LogCapture().logger())
        _ = try interrupted.submit(spec, wallTime: 1)
        let (worker, directives) = interrupted.registerWorker(
            WorkerRegistration(name: "a", address: "-", processID: 1, slots: 8), now: .now())
        try run(&interrupted, worker: worker, pending: directives, limit: 5)
        #expect(interrupted.jobs[job]?.tasksDone == 5)

        var restarted = CoordinatorCore(registry: registry, journal: MemoryJournal(), logger: LogCapture().logger())
        try restarted.replay(journal.records)
        #expect(restarted.jobs[job]?.tasksDone == 5)
        #expect(restarted.scheduler.queuedCount == 1)
        let (resumedWorker, resumed) = restarted.registerWorker(
            WorkerRegistration(name: "b", address: "-", processID: 2, slots: 2), now: .now())
        try run(&restarted, worker: resumedWorker, pending: resumed, limit: 100)
        #expect(restarted.jobs[job]?.report == expected)
    }
}
