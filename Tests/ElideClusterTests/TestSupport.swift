import ElideSupport
import Foundation
import Testing

@testable import ElideCluster

/// A clock that moves only when a test advances it.
struct FakeClock {
    var now = MonotonicInstant(nanoseconds: 1_000_000_000)

    mutating func advance(_ duration: Duration) { now = now + duration }
}

/// Collects log lines in memory so tests can check what was logged.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    var lines: [String] { lock.withLock { stored } }

    func logger(_ label: String = "test", level: Logger.Level = .debug) -> Logger {
        Logger(label: label, level: level) { [self] line in lock.withLock { stored.append(line) } }
    }
}

/// A fresh temporary folder, removed when the value is released.
final class TemporaryFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "elide-cluster-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

extension Array where Element == CoordinatorDirective {
    var assignments: [(TaskAssignment, WorkerID)] {
        compactMap {
            if case .assign(let assignment, let worker) = $0 { return (assignment, worker) }
            return nil
        }
    }

    var cancellations: [TaskAttempt] {
        compactMap {
            if case .cancel(let attempt, _) = $0 { return attempt }
            return nil
        }
    }

    var finishedJobs: [JobID] {
        compactMap {
            if case .jobFinished(let job, _) = $0 { return job }
            return nil
        }
    }
}

/// Runs an assignment's executor from the builtin registry in this process.
func execute(_ assignment: TaskAssignment, registry: JobKindRegistry = .builtin) throws -> [UInt8] {
    let executor = try #require(registry.executor(named: assignment.executor))
    let context = TaskContext(
        task: assignment.attempt, isCancelled: { false },
        artifactPath: { _ in throw JobDriverError("no artifacts in tests") })
    return try executor.execute(payload: assignment.payload, seed: assignment.seed, context: context)
}
