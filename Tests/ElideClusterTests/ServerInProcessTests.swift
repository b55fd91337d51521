import ElideSupport
import ElideWire
import Foundation
import Testing

@testable import ElideCluster

/// A job kind for tests: each task reads one artifact on its worker and returns the artifact's sha256.
enum ArtifactProbeJob {
    struct Driver: JobDriver {
        let artifact: ArtifactDigest
        let taskCount = 3
        var digests: [UInt64: String] = [:]

        mutating func start() throws -> DriverStep {
            let tasks = (0..<UInt64(taskCount)).map {
                TaskRequest(
                    index: $0, executor: "read-artifact", payload: Array(artifact.hex.utf8), artifacts: [artifact])
            }
            return DriverStep(newTasks: tasks, progress: JobProgress(completed: 0, total: taskCount))
        }

        mutating func handle(taskIndex: UInt64, output: [UInt8]) throws -> DriverStep {
            digests[taskIndex] = String(decoding: output, as: UTF8.self)
            let progress = JobProgress(completed: digests.count, total: taskCount)
            guard digests.count == taskCount else { return DriverStep(progress: progress) }
            let values = digests.keys.sorted().map { JSONValue.string(digests[$0]!) }  // !-safe: keys of digests
            return DriverStep(
                progress: progress, report: JobReport(summary: "read", values: ["digests": .array(values)]))
        }
    }

    struct Executor: TaskExecutor {
        var kind: String { "read-artifact" }

        func execute(payload: [UInt8], seed: UInt64, context: TaskContext) throws -> [UInt8] {
            let digest = try #require(ArtifactDigest(hex: String(decoding: payload, as: UTF8.self)))
            let path = try context.artifactPath(digest)
            let bytes = try #require(FileManager.default.contents(atPath: path))
            return Array(SHA256Digest.hex(of: [UInt8](bytes)).utf8)
        }
    }

    static let kind = JobKind(
        name: "artifact-probe", summary: "Read an artifact on workers.",
        options: [OptionSpec("artifact", value: "SHA256", help: "Digest.")],
        makeDriver: { spec in
            guard let text = spec.options["artifact"], let digest = ArtifactDigest(hex: text) else {
                throw JobDriverError("artifact-probe needs --artifact SHA256")
            }
            return Driver(artifact: digest)
        }, executors: [Executor()])
}

/// The coordinator server and a worker daemon in this process, talking over real sockets on 127.0.0.1.
@Suite(.serialized)
struct ServerInProcessTests {
    let registry = JobKindRegistry([SleepJob.kind, MatmulJob.kind, ArtifactProbeJob.kind])

    func startServer(_ folder: TemporaryFolder, logs: LogCapture) throws -> CoordinatorServer {
        var options = CoordinatorOptions(
            listen: WireAddress(host: "127.0.0.1", port: 0), stateDirectory: folder.path + "/state")
        options.metricsListen = WireAddress(host: "127.0.0.1", port: 0)
        options.heartbeatInterval = .milliseconds(200)
        options.heartbeatTimeout = .seconds(2)
        let server = try CoordinatorServer(options: options, registry: registry, logger: logs.logger("coordinator"))
        server.start()
        return server
    }

    func startWorker(
        _ server: CoordinatorServer, _ folder: TemporaryFolder, logs: LogCapture, slots: Int = 2
    ) throws -> WorkerDaemon {
        var options = WorkerOptions(
            coordinator: server.address, slots: slots, cacheDirectory: folder.path + "/cache", name: "in-process")
        options.tokenFile = server.options.stateDirectory + "/token"
        let worker = try WorkerDaemon(options: options, registry: registry, logger: logs.logger("worker"))
        worker.start()
        return worker
    }

    func client(_ server: CoordinatorServer) throws -> ClusterClient {
        try ClusterClient(
            address: server.address, token: try ClusterToken.read(from: server.options.stateDirectory + "/token"))
    }

    func waitForJob(_ job: JobID, _ client: ClusterClient) throws -> JobStatus {
        for _ in 0..<60 {
            let status = try client.wait(job, timeout: .seconds(1))
            if status.state.isFinished { return try client.result(job) }
        }
        throw TestFailure("job \(job) did not finish in 60 s")
    }

    @Test func workerFetchesAndVerifiesArtifactOnce() throws {
        let folder = try TemporaryFolder()
        let logs = LogCapture()
        let server = try startServer(folder, logs: logs)
        defer { server.stop() }
        let data = (0..<(5 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let digest = try server.artifacts.put(data)
        let worker = try startWorker(server, folder, logs: logs)
        defer { worker.stop() }

        let client = try client(server)
        let job = try client.submit(JobSpec(kind: "artifact-probe", seed: 1, options: ["artifact": digest.hex]))
        let result = try waitForJob(job, client)
        #expect(result.state == .succeeded, "\(result.failure ?? "")")
        let expected = JSONValue.array(Array(repeating: .string(digest.hex), count: 3))
        #expect(result.report?.values["digests"] == expected)
        #expect(FileManager.default.fileExists(atPath: folder.path + "/cache/sha256/" + digest.hex))
        #expect(logs.lines.filter { $0.contains("fetching artifact") }.count == 1)
        #expect(logs.lines.contains { $0.contains("artifact verified") })
    }

    @Test func missingArtifactFailsJobWithMessage() throws {
        let folder = try TemporaryFolder()
        let logs = LogCapture()
        let server = try startServer(folder, logs: logs)
        defer { server.stop() }
        let worker = try startWorker(server, folder, logs: logs, slots: 1)
        defer { worker.stop() }

        let absent = String(repeating: "ab", count: 32)
        let client = try client(server)
        let result = try waitForJob(
            try client.submit(JobSpec(kind: "artifact-probe", seed: 1, options: ["artifact": absent])), client)
        #expect(result.state == .failed)
        #expect(result.failure?.contains(absent) == true)
    }

    @Test func metricsAndHealthEndpointsServeText() throws {
        let folder = try TemporaryFolder()
        let logs = LogCapture()
        let server = try startServer(folder, logs: logs)
        defer { server.stop() }
        let worker = try startWorker(server, folder, logs: logs)
        defer { worker.stop() }
        let client = try client(server)
        _ = try waitForJob(
            try client.submit(JobSpec(kind: "matmul", seed: 1, options: ["tasks": "3", "size": "8"])), client)

        let metricsAddress = try #require(server.metricsAddress)
        let health = try httpGet(metricsAddress, "/healthz")
        #expect(health.hasPrefix("HTTP/1.1 200"))
        #expect(health.hasSuffix("ok\n"))

        let metrics = try httpGet(metricsAddress, "/metrics")
        #expect(metrics.hasPrefix("HTTP/1.1 200"))
        #expect(metrics.contains("elide_workers{state=\"alive\"} 1"))
        #expect(metrics.contains("elide_tasks_finished_total{outcome=\"succeeded\"} 3"))
        #expect(metrics.contains("elide_task_latency_seconds_count 3"))
        #expect(metrics.contains("elide_jobs{state=\"succeeded\"} 1"))
        let sent = metrics.split(separator: "\n").first { $0.hasPrefix("elide_bytes_total{direction=\"sent\"}") }
        #expect((sent?.split(separator: " ").last.flatMap { Int($0) } ?? 0) > 0)

        #expect(try httpGet(metricsAddress, "/nothing").hasPrefix("HTTP/1.1 404"))
    }

    @Test func submitOfUnknownKindIsRejected() throws {
        let folder = try TemporaryFolder()
        let logs = LogCapture()
        let server = try startServer(folder, logs: logs)
        defer { server.stop() }
        #expect(throws: ClusterClientError.self) { try client(server).submit(JobSpec(kind: "nope", seed: 1)) }
    }

    private func httpGet(_ address: WireAddress, _ path: String) throws -> String {
        let connection = try TCPConnection.connect(to: address)
        try connection.write(Array("GET \(path) HTTP/1.1\r\nHost: test\r\n\r\n".utf8))
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try connection.read(into: $0, timeout: .seconds(5)) }
            if count == 0 { break }
            response += buffer[0..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }
}
