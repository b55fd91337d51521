import ElideSupport
import Foundation

/// Runs a job entirely in this process, without sockets: the coordinator core with an in-memory journal and
/// one local worker that executes tasks in assignment order on the calling thread. Artifacts that drivers
/// derive go to a temporary artifact store, removed when the run ends.
///
/// It drives the same `CoordinatorCore` as the daemon, so its report is the reference a cluster run must match.
public enum LocalJobRunner {
    public struct Failure: Error, CustomStringConvertible {
        public let state: JobState
        public let message: String

        public var description: String { "job \(state.rawValue): \(message)" }
    }

    /// Runs `spec` to completion and returns its report, or throws `Failure` when the job fails.
    public static func run(
        _ spec: JobSpec, registry: JobKindRegistry = .builtin, logger: Logger = Logger(label: "local", level: .warning),
        progress: ((JobProgress) -> Void)? = nil
    ) throws -> JobReport {
        var core = CoordinatorCore(registry: registry, journal: MemoryJournal(), logger: logger)
        let worker = WorkerRegistration(name: "local", address: "in-process", processID: 0, slots: 1)
        let (job, submitted) = try core.submit(spec, wallTime: wallClockSeconds())
        let (workerID, registered) = core.registerWorker(worker, now: .now())
        var pending = submitted + registered
        let folder = NSTemporaryDirectory() + "elide-local-artifacts-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var store: ArtifactStore?

        while !pending.isEmpty {
            let directive = pending.removeFirst()
            if case .storeArtifacts(let contents) = directive {
                let target = try store ?? ArtifactStore(root: folder)
                store = target
                for bytes in contents { try target.put(bytes) }
                continue
            }
            guard case .assign(let assignment, _) = directive else { continue }
            guard let executor = registry.executor(named: assignment.executor) else {
                throw Failure(state: .failed, message: "no executor for task kind '\(assignment.executor)'")
            }
            let artifacts = store
            let context = TaskContext(
                task: assignment.attempt, isCancelled: { false },
                artifactPath: { digest in
                    guard let artifacts, artifacts.contains(digest) else {
                        throw Failure(
                            state: .failed, message: "artifact \(digest) was never stored by the job's driver")
                    }
                    return artifacts.path(for: digest)
                })
            do {
                let output = try executor.execute(payload: assignment.payload, seed: assignment.seed, context: context)
                pending += try core.taskSucceeded(
                    assignment.attempt, worker: workerID, output: output, now: .now(), wallTime: wallClockSeconds())
            } catch let error as JournalError {
                throw error
            } catch {
                pending += try core.taskFailed(
                    assignment.attempt, worker: workerID, message: "\(error)", now: .now(),
                    wallTime: wallClockSeconds())
            }
            if let entry = core.jobs[job] { progress?(entry.progress) }
        }

        // !-safe: the job was submitted above and is never removed.
        let entry = core.jobs[job]!
        guard entry.state == .succeeded, let report = entry.report else {
            throw Failure(state: entry.state, message: entry.failure ?? "the job ended without a report")
        }
        return report
    }
}
