import ElideSupport
import ElideTensor

/// Diagnostic job kind `matmul`: N tasks that each multiply two seeded random M×M matrices through BLAS and
/// return a checksum of the product; the report combines the checksums in task order.
///
/// Matrix entries are integers in -8...8 stored as Float32, so every product entry is an integer of magnitude
/// at most 64·M ≤ 2^24 and is computed exactly whatever the summation order. The checksum therefore matches
/// bit for bit across BLAS thread counts, CPUs and workers.
public enum MatmulJob {
    public static let executorKind = "matmul"

    /// Largest accepted size; 64·M must stay below 2^24 for exact Float32 sums, and 4096 keeps a task's
    /// memory at 192 MiB.
    public static let maxSize = 4096

    public static let options: [OptionSpec] = [
        OptionSpec("tasks", value: "N", help: "Number of tasks.", default: "4"),
        OptionSpec("size", value: "M", help: "Rows and columns of each square matrix.", default: "256"),
    ]

    public static let kind = JobKind(
        name: "matmul", summary: "Multiply seeded random M×M matrices in N tasks and combine their checksums.",
        options: options, makeDriver: { try Driver(spec: $0) }, executors: [Executor()])

    /// Multiplies the two matrices drawn from `seed` and returns the FNV-1a checksum of the product.
    public static func taskChecksum(size: Int, seed: UInt64) -> UInt64 {
        var generator = SeededGenerator(seed: seed)
        let a = (0..<size * size).map { _ in Float(Int(generator.next() % 17) - 8) }
        let b = (0..<size * size).map { _ in Float(Int(generator.next() % 17) - 8) }
        var product = [Float](repeating: 0, count: size * size)
        product.withUnsafeMutableBufferPointer { c in
            // !-safe: the three arrays have size² > 0 elements, so their base addresses exist.
            Kernels.sgemm(
                m: size, n: size, k: size, a: a, lda: size, b: b, ldb: size, transposeB: false,
                c: c.baseAddress!, ldc: size)
        }
        var checksum = FNV1a64()
        for value in product {
            checksum.add(ByteCoding.bytes(of: UInt64(bitPattern: Int64(value))))
        }
        return checksum.value
    }

    struct Driver: JobDriver {
        let taskCount: Int
        let size: Int
        var checksums: [UInt64?]
        var completed = 0

        init(spec: JobSpec) throws {
            let options = JobOptions(spec, options: MatmulJob.options)
            taskCount = try options.int("tasks", in: 1...1_000_000)
            size = try options.int("size", in: 1...MatmulJob.maxSize)
            checksums = Array(repeating: nil, count: taskCount)
        }

        mutating func start() throws -> DriverStep {
            let payload = ByteCoding.bytes(of: UInt64(size))
            let tasks = (0..<UInt64(taskCount)).map {
                TaskRequest(index: $0, executor: MatmulJob.executorKind, payload: payload)
            }
            return DriverStep(newTasks: tasks, progress: progress)
        }

        mutating func handle(taskIndex: UInt64, output: [UInt8]) throws -> DriverStep {
            guard taskIndex < UInt64(taskCount), checksums[Int(taskIndex)] == nil else {
                throw JobDriverError("matmul job received an unexpected or repeated result for task \(taskIndex)")
            }
            guard output.count == 8, let checksum = ByteCoding.uint64(output) else {
                throw JobDriverError("matmul task \(taskIndex) returned \(output.count) bytes, expected 8")
            }
            checksums[Int(taskIndex)] = checksum
            completed += 1
            guard completed == taskCount else { return DriverStep(progress: progress) }
            return DriverStep(progress: progress, report: report())
        }

        var progress: JobProgress { JobProgress(completed: completed, total: taskCount, detail: "tasks") }

        func report() -> JobReport {
            var combined = FNV1a64()
            for checksum in checksums { combined.add(checksum ?? 0) }
            let flops = 2.0 * Double(size) * Double(size) * Double(size) * Double(taskCount)
            return JobReport(
                summary: "\(taskCount) products of \(size)×\(size) matrices, checksum \(combined.value.hex16)",
                values: [
                    "tasks": .number(Double(taskCount)), "size": .number(Double(size)),
                    "checksum": .string(combined.value.hex16), "flop": .number(flops),
                ])
        }
    }

    struct Executor: TaskExecutor {
        var kind: String { MatmulJob.executorKind }

        func execute(payload: [UInt8], seed: UInt64, context: TaskContext) throws -> [UInt8] {
            guard let size = ByteCoding.uint64(payload), size >= 1, size <= UInt64(MatmulJob.maxSize) else {
                throw JobDriverError("matmul task payload is not a size in 1...\(MatmulJob.maxSize)")
            }
            try context.checkCancellation()
            return ByteCoding.bytes(of: MatmulJob.taskChecksum(size: Int(size), seed: seed))
        }
    }
}
