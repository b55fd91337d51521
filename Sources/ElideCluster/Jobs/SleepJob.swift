import ElideSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Diagnostic job kind `sleep`: N tasks that each wait S seconds; used to exercise failures and retries.
///
/// Each task returns a value derived from its seed, and the driver checks it, so a task that ran with the
/// wrong seed or returned another task's output fails the job. The report's checksum combines the outputs
/// in index order and therefore does not depend on worker count, retries or restarts.
public enum SleepJob {
    public static let executorKind = "sleep"

    public static let options: [OptionSpec] = [
        OptionSpec("tasks", value: "N", help: "Number of tasks.", default: "8"),
        OptionSpec("task-seconds", value: "S", help: "Seconds each task sleeps.", default: "0.5"),
    ]

    public static let kind = JobKind(
        name: "sleep", summary: "Run N tasks that each sleep S seconds (a diagnostic for failure handling).",
        options: options, makeDriver: { try Driver(spec: $0) }, executors: [Executor()])

    /// The value a task with `seed` returns.
    static func expectedOutput(seed: UInt64) -> UInt64 { TaskSeed.mix(seed ^ 0x5EED) }

    struct Driver: JobDriver {
        let seed: UInt64
        let taskCount: Int
        let taskNanoseconds: UInt64
        var outputs: [UInt64?]
        var completed = 0

        init(spec: JobSpec) throws {
            let options = JobOptions(spec, options: SleepJob.options)
            seed = spec.seed
            taskCount = try options.int("tasks", in: 1...1_000_000)
            taskNanoseconds = UInt64(try options.double("task-seconds", in: 0...86_400) * 1e9)
            outputs = Array(repeating: nil, count: taskCount)
        }

        mutating func start() throws -> DriverStep {
            let tasks = (0..<UInt64(taskCount)).map {
                TaskRequest(index: $0, executor: SleepJob.executorKind, payload: ByteCoding.bytes(of: taskNanoseconds))
            }
            return DriverStep(newTasks: tasks, progress: progress)
        }

        mutating func handle(taskIndex: UInt64, output: [UInt8]) throws -> DriverStep {
            guard taskIndex < UInt64(taskCount), outputs[Int(taskIndex)] == nil else {
                throw JobDriverError("sleep job received an unexpected or repeated result for task \(taskIndex)")
            }
            let expected = SleepJob.expectedOutput(seed: TaskSeed.derive(jobSeed: seed, taskIndex: taskIndex))
            guard output.count == 8, let value = ByteCoding.uint64(output), value == expected else {
                throw JobDriverError(
                    "sleep task \(taskIndex) returned \(output.count) bytes that do not match its seed; "
                        + "the worker may run a different build")
            }
            outputs[Int(taskIndex)] = value
            completed += 1
            guard completed == taskCount else { return DriverStep(progress: progress) }
            return DriverStep(progress: progress, report: report())
        }

        var progress: JobProgress { JobProgress(completed: completed, total: taskCount, detail: "tasks") }

        func report() -> JobReport {
            var checksum = FNV1a64()
            for (index, value) in outputs.enumerated() {
                checksum.add(UInt64(index))
                checksum.add(value ?? 0)
            }
            let seconds = Double(taskNanoseconds) / 1e9
            return JobReport(
                summary: "\(taskCount) tasks of \(seconds) s done, checksum \(checksum.value.hex16)",
                values: [
                    "tasks": .number(Double(taskCount)), "task_seconds": .number(seconds),
                    "checksum": .string(checksum.value.hex16),
                ])
        }
    }

    struct Executor: TaskExecutor {
        var kind: String { SleepJob.executorKind }

        func execute(payload: [UInt8], seed: UInt64, context: TaskContext) throws -> [UInt8] {
            guard let nanoseconds = ByteCoding.uint64(payload) else {
                throw JobDriverError("sleep task payload has \(payload.count) bytes, expected 8")
            }
            // Sleep in slices of at most 20 ms so cancellation takes effect quickly.
            let deadline = MonotonicInstant.now() + .nanoseconds(Int64(nanoseconds))
            while true {
                try context.checkCancellation()
                let remaining = deadline - MonotonicInstant.now()
                if remaining <= .zero { break }
                let slice = min(remaining.nanoseconds, 20_000_000)
                var request = timespec(tv_sec: 0, tv_nsec: Int(slice))
                nanosleep(&request, nil)
            }
            return ByteCoding.bytes(of: SleepJob.expectedOutput(seed: seed))
        }
    }
}
