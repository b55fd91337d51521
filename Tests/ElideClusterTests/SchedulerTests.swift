import Testing

@testable import ElideCluster

struct SchedulerTests {
    let job1 = JobID(1)
    let job2 = JobID(2)
    let w1 = WorkerID(1)
    let w2 = WorkerID(2)

    func tasks(_ range: Range<UInt64>, artifacts: [ArtifactDigest] = []) -> [(
        index: UInt64, artifacts: [ArtifactDigest]
    )] {
        range.map { ($0, artifacts) }
    }

    func digest(_ fill: Character) -> ArtifactDigest {
        ArtifactDigest(hex: String(repeating: fill, count: 64))!
    }

    @Test func fillsSlotsAndNoMore() {
        var scheduler = Scheduler()
        scheduler.addWorker(w1, slots: 2)
        scheduler.addWorker(w2, slots: 1)
        scheduler.enqueue(job: job1, tasks: tasks(0..<10))
        let assignments = scheduler.assign()
        #expect(assignments.count == 3)
        #expect(scheduler.slotsUsed(w1) == 2)
        #expect(scheduler.slotsUsed(w2) == 1)
        #expect(scheduler.queuedCount == 7)
        #expect(scheduler.assign().isEmpty)
    }

    @Test func servesJobsFirstInFirstOut() {
        var scheduler = Scheduler()
        scheduler.enqueue(job: job2, tasks: tasks(0..<2))
        scheduler.enqueue(job: job1, tasks: tasks(0..<2))
        scheduler.addWorker(w1, slots: 3)
        let order = scheduler.assign().map(\.attempt.task)
        #expect(
            order == [TaskID(job: job1, index: 0), TaskID(job: job1, index: 1), TaskID(job: job2, index: 0)])
    }

    @Test func prefersWorkerHoldingArtifacts() {
        var scheduler = Scheduler()
        let model = digest("a")
        scheduler.addWorker(w1, slots: 4)
        scheduler.addWorker(w2, slots: 4, artifacts: [model])
        scheduler.enqueue(job: job1, tasks: tasks(0..<2, artifacts: [model]))
        let workers = scheduler.assign().map(\.worker)
        #expect(workers == [w2, w2])
    }

    @Test func spreadsTasksWithoutArtifacts() {
        var scheduler = Scheduler()
        scheduler.addWorker(w1, slots: 2)
        scheduler.addWorker(w2, slots: 2)
        scheduler.enqueue(job: job1, tasks: tasks(0..<2))
        let workers = Set(scheduler.assign().map(\.worker))
        #expect(workers == [w1, w2])
    }

    @Test func workerLossRequeuesWithNextAttempt() throws {
        var scheduler = Scheduler()
        scheduler.addWorker(w1, slots: 1)
        scheduler.enqueue(job: job1, tasks: tasks(0..<1))
        let first = try #require(scheduler.assign().first)
        #expect(first.attempt.attempt == 1)

        let loss = scheduler.removeWorker(w1)
        #expect(loss.requeued == [first.attempt])
        #expect(loss.exhausted.isEmpty)
        #expect(scheduler.isQueued(first.attempt.task))

        scheduler.addWorker(w2, slots: 1)
        let second = try #require(scheduler.assign().first)
        #expect(second.attempt == TaskAttempt(task: first.attempt.task, attempt: 2))
        #expect(second.worker == w2)
    }

    @Test func fourthWorkerLossExhaustsTask() {
        var scheduler = Scheduler()
        scheduler.enqueue(job: job1, tasks: tasks(0..<1))
        var lastLoss = WorkerLoss()
        for round in 1...4 {
            let worker = WorkerID(UInt64(round))
            scheduler.addWorker(worker, slots: 1)
            #expect(scheduler.assign().count == 1)
            lastLoss = scheduler.removeWorker(worker)
            if round < 4 { #expect(lastLoss.requeued.count == 1) }
        }
        #expect(lastLoss.exhausted.count == 1)
        #expect(lastLoss.requeued.isEmpty)
        #expect(scheduler.queuedCount == 0)
    }

    @Test func staleAttemptResultIsRejected() throws {
        var scheduler = Scheduler()
        scheduler.addWorker(w1, slots: 1)
        scheduler.enqueue(job: job1, tasks: tasks(0..<1))
        let first = try #require(scheduler.assign().first)
        _ = scheduler.removeWorker(w1)
        scheduler.addWorker(w2, slots: 1)
        let second = try #require(scheduler.assign().first)

        let staleAttempt = scheduler.complete(first.attempt, from: w1)
        let wrongWorker = scheduler.complete(second.attempt, from: w1)
        let live = scheduler.complete(second.attempt, from: w2)
        let duplicate = scheduler.complete(second.attempt, from: w2)
        #expect(!staleAttempt)
        #expect(!wrongWorker)
        #expect(live)
        #expect(!duplicate)
        #expect(scheduler.slotsUsed(w2) == 0)
    }

    @Test func drainingWorkerGetsNoTasks() {
        var scheduler = Scheduler()
        scheduler.addWorker(w1, slots: 2)
        scheduler.setAccepting(w1, false)
        scheduler.enqueue(job: job1, tasks: tasks(0..<2))
        #expect(scheduler.assign().isEmpty)
        scheduler.addWorker(w2, slots: 2)
        #expect(scheduler.assign().map(\.worker) == [w2, w2])
    }

    @Test func handBackRequeuesWithoutLoss() throws {
        var scheduler = Scheduler(settings: SchedulerSettings(maxWorkerLossRetries: 0))
        scheduler.addWorker(w1, slots: 1)
        scheduler.enqueue(job: job1, tasks: tasks(0..<1))
        let first = try #require(scheduler.assign().first)
        let handedBack = scheduler.handBack(first.attempt, from: w1)
        #expect(handedBack)
        scheduler.setAccepting(w1, false)
        scheduler.addWorker(w2, slots: 1)
        let second = try #require(scheduler.assign().first)
        #expect(second.worker == w2)
        // With no loss retries allowed, a hand-back must not have counted as a loss.
        let loss = scheduler.removeWorker(w2)
        #expect(loss.exhausted.count == 1)
    }

    @Test func removeJobDropsQueuedAndReturnsRunning() {
        var scheduler = Scheduler()
        scheduler.addWorker(w1, slots: 2)
        scheduler.enqueue(job: job1, tasks: tasks(0..<5))
        scheduler.enqueue(job: job2, tasks: tasks(0..<1))
        let running = scheduler.assign()
        #expect(running.count == 2)

        let cancelled = scheduler.removeJob(job1)
        #expect(Set(cancelled) == Set(running))
        #expect(scheduler.slotsUsed(w1) == 0)
        let next = scheduler.assign()
        #expect(next.map(\.attempt.task) == [TaskID(job: job2, index: 0)])
    }

    @Test func finishRemovesQueuedTask() {
        var scheduler = Scheduler()
        scheduler.enqueue(job: job1, tasks: tasks(0..<3))
        scheduler.finish(TaskID(job: job1, index: 1))
        scheduler.addWorker(w1, slots: 5)
        #expect(scheduler.assign().map(\.attempt.task.index) == [0, 2])
    }
}
