import ElideSupport
import Testing

@testable import ElideCluster

/// The coordinator's state machine driven by hand: a fake clock, an in-memory journal, tasks executed in
/// process.
struct CoordinatorCoreTests {
    var clock = FakeClock()
    let journal = MemoryJournal()
    let capture = LogCapture()
    var core: CoordinatorCore

    init() {
        core = CoordinatorCore(registry: .builtin, journal: journal, logger: capture.logger())
    }

    static let sleepSpec = JobSpec(kind: "sleep", seed: 7, options: ["tasks": "6", "task-seconds": "0"])

    mutating func register(_ name: String, slots: Int) -> (WorkerID, [CoordinatorDirective]) {
        core.registerWorker(
            WorkerRegistration(name: name, address: "127.0.0.1:1", processID: 1, slots: slots), now: clock.now)
    }

    /// Executes each assignment and reports it, until no work is left; returns the attempts that ran.
    @discardableResult
    mutating func runAll(_ directives: [CoordinatorDirective]) throws -> [TaskAttempt] {
        var pending = directives
        var ran: [TaskAttempt] = []
        while let directive = pending.first {
            pending.removeFirst()
            guard case .assign(let assignment, let worker) = directive else { continue }
            clock.advance(.milliseconds(5))
            ran.append(assignment.attempt)
            pending += try core.taskSucceeded(
                assignment.attempt, worker: worker, output: try execute(assignment), now: clock.now, wallTime: 100)
        }
        return ran
    }

    @Test mutating func jobRunsToReport() throws {
        let (job, submitted) = try core.submit(Self.sleepSpec, wallTime: 100)
        #expect(submitted.assignments.isEmpty)
        let (_, registered) = register("a", slots: 2)
        #expect(registered.assignments.count == 2)

        let ran = try runAll(registered)
        #expect(ran.count == 6)
        let entry = try #require(core.jobs[job])
        #expect(entry.state == .succeeded)
        #expect(entry.tasksDone == 6)
        #expect(entry.report == (try LocalJobRunner.run(Self.sleepSpec)))
        #expect(core.metrics.taskLatency.count == 6)
    }

    @Test mutating func workerLossRetriesOnAnotherWorker() throws {
        let (job, _) = try core.submit(Self.sleepSpec, wallTime: 100)
        let (lost, first) = register("lost", slots: 3)
        #expect(first.assignments.count == 3)
        let (_, second) = register("kept", slots: 3)
        #expect(second.assignments.count == 3)

        let requeued = try core.workerLost(lost, reason: "connection closed", now: clock.now, wallTime: 101)
        #expect(requeued.assignments.isEmpty)
        #expect(core.scheduler.queuedCount == 3)
        let lostLine = capture.lines.first { $0.contains("worker lost") }
        #expect(lostLine?.contains("tasks.requeued=3") == true)

        let ran = try runAll(second)
        #expect(ran.filter { $0.attempt == 2 }.count == 3)
        let entry = try #require(core.jobs[job])
        #expect(entry.state == .succeeded)
        #expect(entry.retries == 3)
        #expect(entry.report == (try LocalJobRunner.run(Self.sleepSpec)))
    }

    @Test mutating func lateResultOfLostAttemptIsDropped() throws {
        let spec = JobSpec(kind: "sleep", seed: 1, options: ["tasks": "1", "task-seconds": "0"])
        let (job, _) = try core.submit(spec, wallTime: 100)
        let (lost, first) = register("lost", slots: 1)
        let (assignment, _) = try #require(first.assignments.first)
        _ = try core.workerLost(lost, reason: "test", now: clock.now, wallTime: 101)
        let output = try execute(assignment)

        let late = try core.taskSucceeded(
            assignment.attempt, worker: lost, output: output, now: clock.now, wallTime: 102)
        #expect(late.isEmpty)
        #expect(journal.records.count == 1)

        let (kept, retry) = register("kept", slots: 1)
        let (second, _) = try #require(retry.assignments.first)
        #expect(second.attempt.attempt == 2)
        let done = try core.taskSucceeded(second.attempt, worker: kept, output: output, now: clock.now, wallTime: 103)
        #expect(done.finishedJobs == [job])
        let duplicate = try core.taskSucceeded(
            second.attempt, worker: kept, output: output, now: clock.now, wallTime: 104)
        #expect(duplicate.isEmpty)
        #expect(core.status(now: clock.now, wallTime: 105, coordinator: info).tasks.duplicatesDropped == 2)
        #expect(journal.records.count == 2)
    }

    @Test mutating func taskErrorFailsJobWithoutRetry() throws {
        let (job, _) = try core.submit(Self.sleepSpec, wallTime: 100)
        let (worker, directives) = register("a", slots: 2)
        let (first, _) = try #require(directives.assignments.first)
        let result = try core.taskFailed(
            first.attempt, worker: worker, message: "out of memory", now: clock.now, wallTime: 101)

        #expect(result.finishedJobs == [job])
        #expect(result.cancellations.count == 1)
        #expect(result.assignments.isEmpty)
        let entry = try #require(core.jobs[job])
        #expect(entry.state == .failed)
        let failure = try #require(entry.failure)
        #expect(failure.contains(first.attempt.task.description))
        #expect(failure.contains("w1"))
        #expect(failure.contains("out of memory"))
        #expect(core.scheduler.queuedCount == 0)
    }

    @Test mutating func repeatedWorkerLossFailsJob() throws {
        let spec = JobSpec(kind: "sleep", seed: 1, options: ["tasks": "1", "task-seconds": "0"])
        let (job, _) = try core.submit(spec, wallTime: 100)
        for round in 1...4 {
            let (worker, directives) = register("w\(round)", slots: 1)
            #expect(directives.assignments.count == 1)
            let result = try core.workerLost(worker, reason: "killed", now: clock.now, wallTime: 101)
            #expect(result.finishedJobs == (round == 4 ? [job] : []))
        }
        let failure = try #require(core.jobs[job]?.failure)
        #expect(failure.contains("lost its worker 4 times"))
    }

    @Test mutating func cancellationStopsRunningTasks() throws {
        let (job, _) = try core.submit(Self.sleepSpec, wallTime: 100)
        let (_, directives) = register("a", slots: 2)
        let result = try core.cancel(job, wallTime: 101)
        #expect(Set(result.cancellations) == Set(directives.assignments.map(\.0.attempt)))
        #expect(core.jobs[job]?.state == .cancelled)
        var copy = core
        #expect(throws: CoordinatorError.jobAlreadyFinished(job, .cancelled)) { try copy.cancel(job, wallTime: 102) }
        #expect(throws: CoordinatorError.jobNotFound(JobID(99))) { try copy.cancel(JobID(99), wallTime: 102) }
    }

    @Test mutating func silentWorkerIsDeclaredDeadByTick() throws {
        _ = try core.submit(Self.sleepSpec, wallTime: 100)
        let (silent, _) = register("silent", slots: 2)
        let (alive, _) = register("alive", slots: 2)
        for _ in 0..<10 {
            clock.advance(.seconds(1))
            core.heartbeat(from: alive, now: clock.now)
            _ = try core.tick(now: clock.now, wallTime: 101)
        }
        let status = core.status(now: clock.now, wallTime: 110, coordinator: info)
        let row = try #require(status.workers.first { $0.id == silent.description })
        #expect(row.state == "dead")
        #expect(status.workers.first { $0.id == alive.description }?.state == "alive")
        #expect(capture.lines.contains { $0.contains("worker missed heartbeats") })
        #expect(core.scheduler.slotsUsed(alive) == 2)
        // Six tasks: two run on the live worker, two never started and two came back from the dead one.
        #expect(core.scheduler.queuedCount == 4)
        #expect(status.tasks.retried == 2)
    }

    @Test mutating func invalidJobIsRejectedAndNotJournaled() {
        var copy = core
        #expect(throws: CoordinatorError.self) {
            try copy.submit(JobSpec(kind: "matmul", seed: 1, options: ["size": "-1"]), wallTime: 100)
        }
        #expect(journal.records.isEmpty)
    }

    @Test mutating func stoppingRejectsNewJobs() {
        core.beginStopping()
        var copy = core
        #expect(throws: CoordinatorError.stopping) { try copy.submit(Self.sleepSpec, wallTime: 100) }
    }

    @Test mutating func replayAfterRestartGivesSameReport() throws {
        let spec = JobSpec(kind: "matmul", seed: 21, options: ["tasks": "8", "size": "12"])
        let (job, _) = try core.submit(spec, wallTime: 100)
        let (worker, directives) = register("a", slots: 8)
        // Half the results reach the journal before the coordinator dies.
        for (assignment, _) in directives.assignments.prefix(4) {
            _ = try core.taskSucceeded(
                assignment.attempt, worker: worker, output: try execute(assignment), now: clock.now, wallTime: 101)
        }

        var restarted = CoordinatorCore(registry: .builtin, journal: MemoryJournal(), logger: capture.logger())
        try restarted.replay(journal.records)
        #expect(restarted.jobs[job]?.tasksDone == 4)
        #expect(restarted.scheduler.queuedCount == 4)
        core = restarted
        let (_, resumed) = register("b", slots: 2)
        try runAll(resumed)

        let report = try #require(core.jobs[job]?.report)
        #expect(report == (try LocalJobRunner.run(spec)))
        let (next, _) = try core.submit(spec, wallTime: 200)
        #expect(next == JobID(2))
    }

    @Test mutating func replayKeepsFailedAndCancelledJobs() throws {
        let (failed, _) = try core.submit(Self.sleepSpec, wallTime: 100)
        let (worker, directives) = register("a", slots: 1)
        let (first, _) = try #require(directives.assignments.first)
        _ = try core.taskFailed(first.attempt, worker: worker, message: "boom", now: clock.now, wallTime: 101)
        let (cancelled, _) = try core.submit(Self.sleepSpec, wallTime: 102)
        _ = try core.cancel(cancelled, wallTime: 103)

        var restarted = CoordinatorCore(registry: .builtin, journal: MemoryJournal(), logger: capture.logger())
        try restarted.replay(journal.records)
        #expect(restarted.jobs[failed]?.state == .failed)
        #expect(restarted.jobs[failed]?.failure == core.jobs[failed]?.failure)
        #expect(restarted.jobs[cancelled]?.state == .cancelled)
        #expect(restarted.scheduler.queuedCount == 0)
        #expect(restarted.jobs[cancelled]?.finishedAt == 103)
    }

    @Test mutating func drainingWorkerHandsBackTask() throws {
        _ = try core.submit(Self.sleepSpec, wallTime: 100)
        let (draining, directives) = register("a", slots: 1)
        let (first, _) = try #require(directives.assignments.first)
        core.drain(draining)
        #expect(core.taskHandedBack(first.attempt, worker: draining, now: clock.now).isEmpty)
        let (_, next) = register("b", slots: 1)
        #expect(next.assignments.first?.0.attempt.task == first.attempt.task)
        let status = core.status(now: clock.now, wallTime: 101, coordinator: info)
        #expect(status.workers.first { $0.id == draining.description }?.state == "draining")
    }

    @Test mutating func deregisteredWorkerTasksRequeueWithoutRetry() throws {
        let (job, _) = try core.submit(Self.sleepSpec, wallTime: 100)
        let (leaving, directives) = register("leaving", slots: 2)
        #expect(directives.assignments.count == 2)
        let (_, staying) = register("staying", slots: 1)
        let left = try core.workerLeft(leaving, now: clock.now, wallTime: 101)
        #expect(core.jobs[job]?.retries == 0)
        // Six tasks: one runs on the staying worker, three never started and two came back.
        #expect(core.scheduler.queuedCount == 5)
        let (_, more) = register("more", slots: 4)
        try runAll(staying + left + more)
        #expect(core.jobs[job]?.state == .succeeded)
    }

    var info: CoordinatorInfo {
        CoordinatorInfo(address: "127.0.0.1:0", processID: 1, uptimeSeconds: 0, isStopping: false)
    }
}
