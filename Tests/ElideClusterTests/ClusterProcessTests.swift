import ElideWire
import Foundation
import Glibc
import Testing

@testable import ElideCluster

/// End-to-end tests with a real coordinator and real workers on 127.0.0.1. They run one at a time, because
/// each starts several processes and CI machines have two cores.
@Suite(.serialized)
struct ClusterProcessTests {
    @Test func matmulChecksumIsSameInProcessAndOnOneOrTwoWorkers() throws {
        let spec = JobSpec(kind: "matmul", seed: 17, options: ["tasks": "8", "size": "48"])
        let inProcess = try LocalJobRunner.run(spec)

        let cluster = try TestCluster()
        try cluster.startCoordinator()
        try cluster.startWorker("one")
        try cluster.waitForWorkers(1)
        let single = try cluster.waitForJob(try cluster.client().submit(spec))
        #expect(single.state == .succeeded)
        #expect(single.report == inProcess)

        try cluster.startWorker("two")
        try cluster.waitForWorkers(2)
        let before = try cluster.client().status().workers
        let double = try cluster.waitForJob(try cluster.client().submit(spec))
        #expect(double.state == .succeeded)
        #expect(double.report == inProcess)
        let after = try cluster.client().status().workers
        let secondWorkerTasks =
            (after.first { $0.name == "two" }?.tasksDone ?? 0) - (before.first { $0.name == "two" }?.tasksDone ?? 0)
        #expect(secondWorkerTasks > 0, "the second worker ran none of the tasks")
    }

    @Test func killedWorkerTasksAreRetriedExactlyOnce() throws {
        let spec = JobSpec(kind: "sleep", seed: 5, options: ["tasks": "12", "task-seconds": "0.4"])
        let cluster = try TestCluster()
        try cluster.startCoordinator()
        try cluster.startWorker("victim", slots: 2)
        try cluster.startWorker("survivor", slots: 2)
        try cluster.waitForWorkers(2)
        let job = try cluster.client().submit(spec)

        // Kill the victim while it runs tasks of the job.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let victim = try cluster.client().status().workers.first { $0.name == "victim" }
            if let victim, victim.slotsUsed > 0, victim.tasksDone >= 1 { break }
            usleep(20_000)
        }
        cluster.kill("victim")

        let result = try cluster.waitForJob(job)
        #expect(result.state == .succeeded)
        #expect(result.tasksDone == 12)
        #expect(result.retries >= 1)
        #expect(result.report == (try expectedSleepReport(spec)))
        let status = try cluster.client().status()
        #expect(status.workers.first { $0.name == "victim" }?.state == "dead")
        let doneByWorkers = status.workers.reduce(0) { $0 + $1.tasksDone }
        #expect(doneByWorkers == 12, "results accepted per worker must add up to the task count")
        #expect(cluster.log("coordinator").contains("task requeued after worker loss"))
    }

    @Test func coordinatorRestartResumesJobWithSameReport() throws {
        let spec = JobSpec(kind: "sleep", seed: 9, options: ["tasks": "10", "task-seconds": "0.3"])
        let cluster = try TestCluster()
        try cluster.startCoordinator()
        let port = cluster.address.port
        try cluster.startWorker("a")
        try cluster.startWorker("b")
        try cluster.waitForWorkers(2)
        let job = try cluster.client().submit(spec)

        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, (try cluster.client().status().jobs.first?.tasksDone ?? 0) < 3 {
            usleep(20_000)
        }
        cluster.kill("coordinator")
        try cluster.startCoordinator(port: port)
        #expect(cluster.log("coordinator").contains("journal replayed"))
        try cluster.waitForWorkers(2)

        let result = try cluster.waitForJob(job)
        #expect(result.state == .succeeded)
        #expect(result.report == (try expectedSleepReport(spec)))
        #expect(cluster.log("a").contains("reconnecting"))
        let next = try cluster.client().submit(
            JobSpec(kind: "sleep", seed: 1, options: ["tasks": "1", "task-seconds": "0"]))
        #expect(next == JobID(job.rawValue + 1), "job ids continue after the journal replay")
    }

    @Test func badPeersAreClosedAndLogged() throws {
        let cluster = try TestCluster()
        try cluster.startCoordinator()
        try cluster.startWorker("good")
        try cluster.waitForWorkers(1)

        var peers: [(name: String, local: String)] = []
        func rawPeer(_ name: String, _ bytes: [UInt8], closeAfter: Bool) throws {
            let connection = try TCPConnection.connect(host: "127.0.0.1", port: cluster.address.port)
            peers.append((name, connection.localAddress.description))
            if !bytes.isEmpty { try connection.write(bytes) }
            if closeAfter { connection.shutdownWrite() }
            #expect(readsUntilClosed(connection), "\(name): the coordinator kept the connection open")
        }
        var random = SplitMixForTests(seed: 4)
        try rawPeer("random bytes", (0..<64).map { _ in UInt8.random(in: 0...255, using: &random) }, closeAfter: false)
        try rawPeer("4 GiB length", [0xFF, 0xFF, 0xFF, 0xFF], closeAfter: false)
        try rawPeer("truncated frame", [0, 0, 0, 100] + Array(repeating: 7, count: 10), closeAfter: true)
        try rawPeer("silent peer", [], closeAfter: false)

        let version = try FramedConnection.connect(to: cluster.address)
        peers.append(("wrong version", version.connection.localAddress.description))
        #expect(throws: HandshakeError.self) {
            try Handshake.introduce(
                WireMessage.Hello(protocolVersion: 99, role: .client), on: version,
                token: ClusterToken(text: cluster.token))
        }
        let wrongToken = try FramedConnection.connect(to: cluster.address)
        peers.append(("wrong HMAC", wrongToken.connection.localAddress.description))
        #expect(throws: HandshakeError.self) {
            try Handshake.introduce(
                WireMessage.Hello(role: .worker), on: wrongToken, token: ClusterToken(text: "another-token-0123456789"))
        }

        usleep(200_000)
        let log = cluster.log("coordinator")
        for peer in peers {
            let line = log.split(separator: "\n").first {
                $0.contains("connection rejected") && $0.contains(peer.local)
            }
            #expect(line != nil, "\(peer.name): no 'connection rejected' line for \(peer.local)")
        }
        #expect(!log.contains(cluster.token), "the token must never appear in logs")

        let spec = JobSpec(kind: "matmul", seed: 2, options: ["tasks": "2", "size": "16"])
        let result = try cluster.waitForJob(try cluster.client().submit(spec))
        #expect(result.report == (try LocalJobRunner.run(spec)))
    }

    @Test func eightWorkersTwoHundredTasksEachResultOnce() throws {
        let spec = JobSpec(kind: "sleep", seed: 3, options: ["tasks": "200", "task-seconds": "0.01"])
        let cluster = try TestCluster()
        try cluster.startCoordinator()
        for index in 1...8 { try cluster.startWorker("w\(index)") }
        try cluster.waitForWorkers(8)

        let result = try cluster.waitForJob(try cluster.client().submit(spec), seconds: 120)
        #expect(result.state == .succeeded)
        #expect(result.tasksDone == 200)
        #expect(result.retries == 0)
        #expect(result.report == (try expectedSleepReport(spec)))

        let cli = try cluster.run("elide", ["status", "--json", "--coordinator", cluster.address.description])
        #expect(cli.code == 0)
        let printed = try ClusterJSON.decoder.decode(ClusterStatus.self, from: Data(cli.output.utf8))
        #expect(printed.workers.count == 8)
        #expect(printed.workers.allSatisfy { $0.state == "alive" })
        #expect(printed.workers.allSatisfy { $0.slotsTotal == 1 })
        #expect(printed.workers.reduce(0) { $0 + $1.tasksDone } == 200)
        #expect(printed.workers.filter { $0.tasksDone > 0 }.count >= 2)
        let job = try #require(printed.jobs.first)
        #expect(job.id == result.id)
        #expect(job.state == .succeeded)
        #expect(job.progress == JobProgress(completed: 200, total: 200, detail: "tasks"))
    }

    @Test func sigtermDrainsWorkerAndStopsCoordinatorCleanly() throws {
        let spec = JobSpec(kind: "sleep", seed: 12, options: ["tasks": "6", "task-seconds": "1"])
        let cluster = try TestCluster()
        try cluster.startCoordinator()
        try cluster.startWorker("leaving", slots: 2, drainGrace: "0.2")
        try cluster.startWorker("staying", slots: 2)
        try cluster.waitForWorkers(2)
        let job = try cluster.client().submit(spec)

        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline,
            (try cluster.client().status().workers.first { $0.name == "leaving" }?.slotsUsed ?? 0) == 0
        {
            usleep(20_000)
        }
        let leaving = try #require(cluster.workers["leaving"])
        cluster.kill("leaving", signal: SIGTERM)
        #expect(leaving.terminationStatus == 0)

        let result = try cluster.waitForJob(job)
        #expect(result.state == .succeeded)
        #expect(result.report == (try expectedSleepReport(spec)))
        #expect(result.retries == 0, "handing tasks back is not a worker loss")
        let log = cluster.log("coordinator")
        #expect(log.contains("task handed back"))
        #expect(log.contains("reason=deregistered"))
        #expect(try cluster.client().status().workers.first { $0.name == "leaving" }?.state == "dead")

        let coordinator = try #require(cluster.coordinator)
        cluster.kill("coordinator", signal: SIGTERM)
        #expect(coordinator.terminationStatus == 0)
        #expect(cluster.log("coordinator").contains("coordinator stopped"))
    }

    @Test func clusterUpSubmitStatusDown() throws {
        let folder = try TemporaryFolder()
        var environment = ProcessInfo.processInfo.environment
        environment["ELIDE_CLUSTER_TOKEN"] = nil
        func elide(_ arguments: [String]) throws -> (code: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try Binaries.path("elide"))
            process.arguments = arguments + ["--state-dir", folder.path]
            process.environment = environment
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: output, as: UTF8.self))
        }

        let up = try elide(["cluster", "up", "--workers", "2"])
        #expect(up.code == 0)
        #expect(up.output.hasPrefix("127.0.0.1:"))
        defer { _ = try? elide(["cluster", "down"]) }

        let submitted = try elide([
            "submit", "matmul", "--tasks", "4", "--size", "32", "--seed", "8", "--wait", "--json",
        ])
        #expect(submitted.code == 0)
        let report = try ClusterJSON.decoder.decode(JobReport.self, from: Data(submitted.output.utf8))
        #expect(
            report == (try LocalJobRunner.run(JobSpec(kind: "matmul", seed: 8, options: ["tasks": "4", "size": "32"]))))

        let status = try elide(["status"])
        #expect(status.code == 0)
        #expect(status.output.contains("worker-1"))
        #expect(status.output.contains("succeeded"))

        let unknown = try elide(["submit", "matmul", "--sise", "3"])
        #expect(unknown.code == 64)

        let down = try elide(["cluster", "down"])
        #expect(down.code == 0)
        let record = folder.path + "/cluster.json"
        #expect(!FileManager.default.fileExists(atPath: record))
    }
}

/// Reads until the peer closes the connection; false if it stays open for 5 s.
private func readsUntilClosed(_ connection: TCPConnection) -> Bool {
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        do {
            let count = try buffer.withUnsafeMutableBytes { try connection.read(into: $0, timeout: .seconds(5)) }
            if count == 0 { return true }
        } catch WireError.timedOut {
            return false
        } catch {
            return true
        }
    }
}
