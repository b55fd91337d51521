import ElideSupport
import ElideWire
import Foundation
import Testing

@testable import ElideCluster

struct CommandOptionTests {
    static let localConfig = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("cluster-configs/local.json").path

    func coordinatorOptions(_ arguments: [String]) throws -> CoordinatorOptions {
        let spec = CoordinatorCommand.spec
        let bare = CommandSpec(
            name: spec.name, summary: "",
            options: spec.options.filter { $0.name != "help" }.map {
                OptionSpec($0.name, value: $0.valueName, help: $0.help)
            })
        return try CoordinatorCommand.makeOptions(try spec.parse(arguments), explicit: try bare.parse(arguments))
    }

    @Test func localConfigSetsCoordinatorOptions() throws {
        let options = try coordinatorOptions(["--config", Self.localConfig])
        #expect(options.listen == WireAddress(host: "127.0.0.1", port: 7070))
        #expect(options.metricsListen == WireAddress(host: "127.0.0.1", port: 9464))
        #expect(options.stateDirectory == CommandSupport.elideHome + "/cluster")
        #expect(options.heartbeatTimeout == .seconds(10))
        #expect(options.heartbeatInterval == .seconds(1))
    }

    @Test func flagsOverrideConfig() throws {
        let options = try coordinatorOptions([
            "--config", Self.localConfig, "--listen", "127.0.0.1:0", "--heartbeat-timeout", "4",
        ])
        #expect(options.listen.port == 0)
        #expect(options.heartbeatTimeout == .seconds(4))
        #expect(options.metricsListen?.port == 9464)
    }

    @Test func localConfigListsTwoWorkers() throws {
        let workers = try LocalCluster.workerEntries(path: Self.localConfig)
        #expect(workers.map { $0["name"] } == ["worker-1", "worker-2"])
    }

    @Test func timeoutBelowThreeBeatsIsRejected() {
        #expect(throws: UsageError.self) {
            try coordinatorOptions(["--heartbeat-interval", "1", "--heartbeat-timeout", "2"])
        }
    }

    @Test func reconnectBackoffGrowsToCap() {
        let options = WorkerOptions(
            coordinator: WireAddress(host: "127.0.0.1", port: 1), slots: 1, cacheDirectory: "/tmp", name: "w")
        let delays = (0..<8).map { options.reconnectDelay(attempt: $0) }
        #expect(delays[0] == .milliseconds(300))
        #expect(delays[1] == .milliseconds(450))
        #expect(delays[2] == .milliseconds(675))
        #expect(delays[7] == .seconds(3))
        #expect(zip(delays, delays.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test func metricsTextHasEveryFamily() {
        var metrics = CoordinatorMetrics()
        metrics.taskLatency.observe(0.02)
        metrics.taskLatency.observe(3)
        let status = ClusterStatus(
            coordinator: CoordinatorInfo(address: "127.0.0.1:1", processID: 1, uptimeSeconds: 1, isStopping: false),
            workers: [], jobs: [],
            tasks: TaskCounts(queued: 4, running: 2, succeeded: 7, failed: 1, retried: 3, duplicatesDropped: 1))
        let text = MetricsText.render(status: status, metrics: metrics, bytesSent: 10, bytesReceived: 20)
        let lines = Set(text.split(separator: "\n").map(String.init))
        #expect(lines.contains("elide_tasks{state=\"queued\"} 4"))
        #expect(lines.contains("elide_task_retries_total 3"))
        #expect(lines.contains("elide_bytes_total{direction=\"received\"} 20"))
        #expect(lines.contains("elide_task_latency_seconds_bucket{le=\"0.025\"} 1"))
        #expect(lines.contains("elide_task_latency_seconds_bucket{le=\"5\"} 2"))
        #expect(lines.contains("elide_task_latency_seconds_bucket{le=\"+Inf\"} 2"))
        #expect(lines.contains("elide_task_latency_seconds_count 2"))
    }
}
