import ElideWire
import Foundation
import Glibc
import Testing

@testable import ElideCluster

/// Finds the executables the tests start: next to the test bundle, else in `.build/release` or `.build/debug`.
enum Binaries {
    static func path(_ name: String) throws -> String {
        let testFolder = ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let candidates = [
            (testFolder as NSString).deletingLastPathComponent + "/" + name,
            repository + "/.build/release/" + name,
            repository + "/.build/debug/" + name,
        ]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TestFailure("\(name) not found in \(candidates); build it first with 'swift build'")
        }
        return found
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A coordinator and workers started as real processes on 127.0.0.1, stopped when the value is released.
final class TestCluster: @unchecked Sendable {
    let folder: TemporaryFolder
    let token = "test-token-0123456789abcdef"
    private(set) var coordinator: Process?
    private(set) var workers: [String: Process] = [:]
    private(set) var address = WireAddress(host: "127.0.0.1", port: 0)
    let heartbeatInterval = "0.2"
    let heartbeatTimeout = "2"

    init() throws {
        folder = try TemporaryFolder()
    }

    deinit {
        for process in Array(workers.values) + [coordinator].compactMap({ $0 }) where process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    var stateDirectory: String { folder.path + "/state" }
    var coordinatorLog: String { folder.path + "/coordinator.log" }

    func log(_ name: String) -> String {
        (try? String(contentsOfFile: folder.path + "/\(name).log", encoding: .utf8)) ?? ""
    }

    /// Starts the coordinator; `port` 0 picks a free port, another value restarts on a known one.
    func startCoordinator(port: Int = 0) throws {
        let addressFile = stateDirectory + "/coordinator.addr"
        try? FileManager.default.removeItem(atPath: addressFile)
        coordinator = try launch(
            "elide-coordinator",
            [
                "--listen", "127.0.0.1:\(port)", "--state-dir", stateDirectory, "--heartbeat-interval",
                heartbeatInterval,
                "--heartbeat-timeout", heartbeatTimeout, "--handshake-timeout", "1",
            ], log: "coordinator")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: addressFile, encoding: .utf8), text.hasSuffix("\n") {
                address = try WireAddress(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines))
                return
            }
            usleep(20_000)
        }
        throw TestFailure("the coordinator wrote no address; log:\n\(log("coordinator"))")
    }

    func startWorker(_ name: String, slots: Int = 1, drainGrace: String = "5") throws {
        workers[name] = try launch(
            "elide-worker",
            [
                "--coordinator", address.description, "--slots", String(slots), "--name", name, "--cache-dir",
                folder.path + "/cache-\(name)", "--drain-grace", drainGrace,
            ], log: name)
    }

    func kill(_ name: String, signal: Int32 = SIGKILL) {
        guard let process = name == "coordinator" ? coordinator : workers[name] else { return }
        Glibc.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    /// Kills `worker` with SIGKILL as soon as `ready` holds for `job` and the worker, polling the coordinator
    /// every `interval` microseconds. Returns false when `seconds` pass first.
    func kill(
        _ worker: String, job: JobID, seconds: Double, interval: UInt32,
        when ready: (_ job: JobStatus?, _ worker: WorkerStatus?) -> Bool
    ) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let status = try client().status()
            if ready(status.jobs.first { $0.id == job.description }, status.workers.first { $0.name == worker }) {
                kill(worker)
                return true
            }
            usleep(interval)
        }
        return false
    }

    func client() throws -> ClusterClient {
        try ClusterClient(address: address, token: ClusterToken(text: token))
    }

    /// Waits until `count` workers are alive, or fails after 20 s.
    func waitForWorkers(_ count: Int) throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let status = try? client().status(), status.workers.filter({ $0.state == "alive" }).count >= count {
                return
            }
            usleep(50_000)
        }
        throw TestFailure("fewer than \(count) workers registered in 20 s; coordinator log:\n\(log("coordinator"))")
    }

    /// Waits until the job finished, or fails after `seconds`.
    func waitForJob(_ job: JobID, seconds: Double = 60) throws -> JobStatus {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let status = try client().wait(job, timeout: .seconds(1))
            if status.state.isFinished { return try client().result(job) }
        }
        throw TestFailure("job \(job) did not finish in \(seconds) s; coordinator log:\n\(log("coordinator"))")
    }

    /// Runs a program to completion and returns its exit code and standard output.
    func run(_ name: String, _ arguments: [String]) throws -> (code: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Binaries.path(name))
        process.arguments = arguments
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["ELIDE_CLUSTER_TOKEN"] = token
        environment["ELIDE_LOG_LEVEL"] = "debug"
        return environment
    }

    private func launch(_ name: String, _ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Binaries.path(name))
        process.arguments = arguments
        process.environment = environment
        let path = folder.path + "/\(log).log"
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }
}

/// The report a `sleep` job must produce, computed by its driver without sleeping.
func expectedSleepReport(_ spec: JobSpec) throws -> JobReport {
    var driver = try JobKindRegistry.builtin.makeDriver(for: spec)
    let tasks = try driver.start().newTasks
    var report: JobReport?
    for task in tasks {
        let seed = TaskSeed.derive(jobSeed: spec.seed, taskIndex: task.index)
        let output = ByteCoding.bytes(of: SleepJob.expectedOutput(seed: seed))
        report = try driver.handle(taskIndex: task.index, output: output).report
    }
    return try #require(report)
}
