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

    // MARK: - Affinity

    func requests(_ keys: [String?]) -> [TaskRequest] {
        keys.enumerated().map {
            TaskRequest(index: UInt64($0.offset), executor: "x", payload: [], affinity: $0.element)
        }
    }

    func task(_ index: UInt64, of job: JobID = JobID(1)) -> TaskID { TaskID(job: job, index: index) }

    @Test func affinityKeyStaysOnItsOwner() throws {
        var scheduler = Scheduler()
        scheduler.addWorker(w1, slots: 1)
        scheduler.addWorker(w2, slots: 1)
        scheduler.enqueue(job: job1, requests: requests(["a", "a", "b"]))
        let first = scheduler.assign()
        // Task 1 waits for a's owner; task 2 behind it takes the other worker, which owns no key yet.
        #expect(first.map(\.attempt.task) == [task(0), task(2)])
        #expect(first.map(\.worker) == [w1, w2])
        #expect(scheduler.affinityOwner(job: job1, key: "a") == w1)
        #expect(scheduler.affinityOwner(job: job1, key: "b") == w2)
        #expect(scheduler.isQueued(task(1)))

        // Freeing b's owner does not release task 1.
        let freedB = scheduler.complete(first[1].attempt, from: w2)
        #expect(freedB)
        #expect(scheduler.assign().isEmpty)
        let freedA = scheduler.complete(first[0].attempt, from: w1)
        #expect(freedA)
        let second = try #require(scheduler.assign().first)
        #expect(second.attempt.task == task(1))
        #expect(second.worker == w1)
    }

    @Test func waitingTaskKeepsItsPlaceInQueue() throws {
        var scheduler = Scheduler()
        scheduler.addWorker(w1, slots: 1)
        scheduler.addWorker(w2, slots: 1)
        scheduler.enqueue(job: job1, requests: requests(["a", "a", nil, nil]))
        let first = scheduler.assign()
        #expect(first.map(\.attempt.task) == [task(0), task(2)])
        for assignment in first {
            let completed = scheduler.complete(assignment.attempt, from: assignment.worker)
            #expect(completed)
        }
        // Task 1 waited, so it goes before task 3, and to a's owner.
        let second = scheduler.assign()
        #expect(second.map(\.attempt.task) == [task(1), task(3)])
        #expect(second.map(\.worker) == [w1, w2])
    }

    @Test func keysSpreadOverWorkersFirst() {
        var scheduler = Scheduler()
        scheduler.addWorker(w1, slots: 4)
        scheduler.addWorker(w2, slots: 1)
        scheduler.enqueue(job: job1, requests: requests(["stage-0", "stage-1"]))
        // Without affinity both would go to w1, which has more free slots.
        #expect(scheduler.assign().map(\.worker) == [w1, w2])
    }

    @Test func sameKeyInOtherJobPicksItsOwnWorker() {
        var scheduler = Scheduler()
        scheduler.addWorker(w1, slots: 1)
        scheduler.addWorker(w2, slots: 1)
        scheduler.enqueue(job: job1, requests: requests(["a"]))
        scheduler.enqueue(job: job2, requests: requests(["a"]))
        let assignments = scheduler.assign()
        #expect(assignments.count == 2)
        #expect(scheduler.affinityOwner(job: job1, key: "a") == w1)
        #expect(scheduler.affinityOwner(job: job2, key: "a") == w2)
    }

    @Test func lostOwnerGivesKeyToNextWorker() throws {
        var scheduler = Scheduler()
        scheduler.addWorker(w1, slots: 1)
        scheduler.addWorker(w2, slots: 1)
        scheduler.enqueue(job: job1, requests: requests(["a", "a"]))
        let first = try #require(scheduler.assign().first)
        #expect(first.worker == w1)

        let loss = scheduler.removeWorker(w1)
        #expect(loss.requeued == [first.attempt])
        #expect(scheduler.affinityOwner(job: job1, key: "a") == nil)
        let retried = scheduler.assign()
        #expect(retried.map(\.attempt.task) == [task(0)])
        #expect(retried.map(\.worker) == [w2])
        #expect(scheduler.affinityOwner(job: job1, key: "a") == w2)
    }

    @Test func drainingOwnerGivesUpItsKeys() throws {
        var scheduler = Scheduler()
        scheduler.addWorker(w1, slots: 2)
        scheduler.addWorker(w2, slots: 1)
        scheduler.enqueue(job: job1, requests: requests(["a"]))
        #expect(scheduler.assign().map(\.worker) == [w1])
        scheduler.setAccepting(w1, false)
        #expect(scheduler.affinityOwner(job: job1, key: "a") == nil)
        scheduler.enqueue(job: job1, requests: [TaskRequest(index: 1, executor: "x", payload: [], affinity: "a")])
        #expect(scheduler.assign().map(\.worker) == [w2])
    }

    @Test func removedJobForgetsItsKeys() {
        var scheduler = Scheduler()
        scheduler.addWorker(w1, slots: 1)
        scheduler.enqueue(job: job1, requests: requests(["a", "a"]))
        #expect(scheduler.assign().count == 1)
        _ = scheduler.removeJob(job1)
        #expect(scheduler.affinityOwner(job: job1, key: "a") == nil)
        #expect(scheduler.queuedCount == 0)
    }
}
