import ElideSupport
import Testing

@testable import ElideCluster

struct JobKindTests {
    /// Feeds a driver the outputs of its tasks, run in process, in index order or shuffled with `shuffleSeed`.
    func runDriver(
        _ spec: JobSpec, shuffleSeed: UInt64?
    ) throws -> (report: JobReport?, steps: [DriverStep]) {
        var driver = try JobKindRegistry.builtin.makeDriver(for: spec)
        var steps = [try driver.start()]
        var tasks = steps[0].newTasks
        if let shuffleSeed {
            var generator = SplitMixForTests(seed: shuffleSeed)
            tasks.shuffle(using: &generator)
        }
        for task in tasks {
            let seed = TaskSeed.derive(jobSeed: spec.seed, taskIndex: task.index)
            let assignment = TaskAssignment(
                attempt: TaskAttempt(task: TaskID(job: JobID(1), index: task.index), attempt: 1),
                executor: task.executor, payload: task.payload, seed: seed, artifacts: [])
            steps.append(try driver.handle(taskIndex: task.index, output: try execute(assignment)))
        }
        return (steps.last?.report, steps)
    }

    @Test(arguments: ["sleep", "matmul"])
    func reportIgnoresResultOrder(kind: String) throws {
        let options = kind == "sleep" ? ["tasks": "6", "task-seconds": "0"] : ["tasks": "5", "size": "24"]
        let spec = JobSpec(kind: kind, seed: 11, options: options)
        let inOrder = try runDriver(spec, shuffleSeed: nil)
        let shuffled = try runDriver(spec, shuffleSeed: 3)
        let report = try #require(inOrder.report)
        #expect(shuffled.report == report)
        #expect(report.values["checksum"] != nil)
    }

    @Test func driverReplaysIdentically() throws {
        let spec = JobSpec(kind: "matmul", seed: 5, options: ["tasks": "3", "size": "8"])
        let first = try runDriver(spec, shuffleSeed: 9)
        let second = try runDriver(spec, shuffleSeed: 9)
        #expect(first.steps == second.steps)
    }

    @Test func seedChangesChecksum() throws {
        let a = try runDriver(JobSpec(kind: "matmul", seed: 1, options: ["tasks": "2", "size": "8"]), shuffleSeed: nil)
        let b = try runDriver(JobSpec(kind: "matmul", seed: 2, options: ["tasks": "2", "size": "8"]), shuffleSeed: nil)
        #expect(a.report?.values["checksum"] != b.report?.values["checksum"])
    }

    @Test func matmulChecksumIsExactProduct() {
        // A 1×1 product is a single integer; recompute it from the same generator.
        var generator = SeededGenerator(seed: 77)
        let a = Double(Int(generator.next() % 17) - 8)
        let b = Double(Int(generator.next() % 17) - 8)
        var expected = FNV1a64()
        expected.add(ByteCoding.bytes(of: UInt64(bitPattern: Int64(a * b))))
        #expect(MatmulJob.taskChecksum(size: 1, seed: 77) == expected.value)
    }

    @Test func repeatedResultIsRejected() throws {
        var driver = try JobKindRegistry.builtin.makeDriver(
            for: JobSpec(kind: "matmul", seed: 1, options: ["tasks": "2", "size": "4"]))
        _ = try driver.start()
        _ = try driver.handle(taskIndex: 0, output: ByteCoding.bytes(of: 1))
        #expect(throws: JobDriverError.self) { try driver.handle(taskIndex: 0, output: ByteCoding.bytes(of: 1)) }
    }

    @Test func sleepOutputFromWrongSeedIsRejected() throws {
        var driver = try JobKindRegistry.builtin.makeDriver(
            for: JobSpec(kind: "sleep", seed: 1, options: ["tasks": "2", "task-seconds": "0"]))
        _ = try driver.start()
        let wrong = ByteCoding.bytes(of: SleepJob.expectedOutput(seed: TaskSeed.derive(jobSeed: 1, taskIndex: 1)))
        #expect(throws: JobDriverError.self) { try driver.handle(taskIndex: 0, output: wrong) }
    }

    @Test func invalidOptionsAreRejected() {
        let registry = JobKindRegistry.builtin
        #expect(throws: JobDriverError.self) {
            try registry.makeDriver(for: JobSpec(kind: "matmul", seed: 1, options: ["size": "0"]))
        }
        #expect(throws: JobDriverError.self) {
            try registry.makeDriver(for: JobSpec(kind: "matmul", seed: 1, options: ["sise": "4"]))
        }
        #expect(throws: JobDriverError.self) {
            try registry.makeDriver(for: JobSpec(kind: "nope", seed: 1))
        }
    }

    @Test func taskSeedsDifferByIndexAndJobSeed() {
        let seeds = Set((0..<1000).map { TaskSeed.derive(jobSeed: 1, taskIndex: UInt64($0)) })
        #expect(seeds.count == 1000)
        #expect(TaskSeed.derive(jobSeed: 1, taskIndex: 0) != TaskSeed.derive(jobSeed: 2, taskIndex: 0))
    }

    @Test func localRunnerMatchesDriverRun() throws {
        let spec = JobSpec(kind: "matmul", seed: 3, options: ["tasks": "4", "size": "16"])
        let local = try LocalJobRunner.run(spec)
        let direct = try runDriver(spec, shuffleSeed: 1)
        #expect(local == direct.report)
    }
}

/// A shuffle source independent of the code under test.
struct SplitMixForTests: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
