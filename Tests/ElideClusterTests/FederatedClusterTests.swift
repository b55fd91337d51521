import ElideFormats
import Foundation
import Glibc
import Testing

@testable import ElideCluster

/// Federated jobs on a real coordinator and real workers on 127.0.0.1 must give the report of the same job
/// run in this process: on 1 and 2 workers, and after a worker that keeps client models is killed.
@Suite(.serialized)
struct FederatedClusterTests {
    /// Small enough to finish in seconds, large enough that a round takes a visible fraction of a second.
    static let spec = JobSpec(
        kind: "federated", seed: 8,
        options: [
            "dataset": "fashion-mnist", "clients": "4", "samples-per-client": "300", "rounds": "6",
            "hidden": "128", "upload-samples": "60", "dropping-rate": "0.25",
        ])

    static func requireDataset() throws {
        let (images, labels) = StandardImageDataset.fashionMNIST.paths(
            split: .train, elideHome: CommandSupport.elideHome)
        for path in [images, labels] where !FileManager.default.fileExists(atPath: path) {
            throw TestFailure("\(path) is missing; run scripts/fetch-assets first")
        }
    }

    /// Client steps that workers had to apply again, from the report's timings.
    static func replayedSteps(_ report: JobReport?) -> Double? {
        guard case .object(let timings)? = report?.values["timings"],
            case .number(let steps)? = timings["replayed_client_steps"]
        else { return nil }
        return steps
    }

    static func deterministicPart(_ report: JobReport) -> JobReport {
        var values = report.values
        values["timings"] = nil
        return JobReport(summary: report.summary, values: values)
    }

    @Test func reportIsSameOnAnyWorkerCountAndAfterKill() throws {
        try Self.requireDataset()
        let reference = Self.deterministicPart(try LocalJobRunner.run(Self.spec))

        let cluster = try TestCluster()
        try cluster.startCoordinator()
        try cluster.startWorker("one")
        try cluster.waitForWorkers(1)
        let single = try cluster.waitForJob(try cluster.client().submit(Self.spec), seconds: 120)
        #expect(single.state == .succeeded, "\(single.failure ?? "")")
        #expect(single.report.map(Self.deterministicPart) == reference)
        #expect(Self.replayedSteps(single.report) == 0, "one worker holds every client, so it never replays")

        try cluster.startWorker("two")
        try cluster.waitForWorkers(2)
        let before = try cluster.client().status().workers
        let double = try cluster.waitForJob(try cluster.client().submit(Self.spec), seconds: 120)
        #expect(double.state == .succeeded, "\(double.failure ?? "")")
        #expect(double.report.map(Self.deterministicPart) == reference)
        let after = try cluster.client().status().workers
        let secondWorkerTasks =
            (after.first { $0.name == "two" }?.tasksDone ?? 0) - (before.first { $0.name == "two" }?.tasksDone ?? 0)
        #expect(secondWorkerTasks > 0, "the second worker ran none of the tasks")

        // Kill worker two once the first round is done, so it keeps client models the job still needs.
        let job = try cluster.client().submit(Self.spec)
        let killed = try cluster.kill("two", job: job, seconds: 120, interval: 10_000) { job, _ in
            let progress = job?.progress.completed ?? 0
            return progress >= 1 && progress < 5
        }
        #expect(killed, "the job never reached round 1 of 6 while worker two lived")
        let survived = try cluster.waitForJob(job, seconds: 120)
        #expect(survived.state == .succeeded, "\(survived.failure ?? "")")
        #expect(survived.report.map(Self.deterministicPart) == reference)
        // Clients whose models died with worker two were rebuilt on worker one from their histories.
        #expect((Self.replayedSteps(survived.report) ?? 0) > 0)
        #expect(cluster.log("one").contains("artifact verified"))
    }

    @Test func fedAvgReportIsSameOnTwoWorkers() throws {
        try Self.requireDataset()
        var spec = Self.spec
        spec.options["algorithm"] = "fedavg"
        spec.options["rounds"] = "3"
        let reference = Self.deterministicPart(try LocalJobRunner.run(spec))
        if case .number(let bytes)? = reference.values["total_bytes"] {
            #expect(bytes > 0)
        } else {
            Issue.record("the report has no total_bytes")
        }

        let cluster = try TestCluster()
        try cluster.startCoordinator()
        try cluster.startWorker("one")
        try cluster.startWorker("two")
        try cluster.waitForWorkers(2)
        let status = try cluster.waitForJob(try cluster.client().submit(spec), seconds: 120)
        #expect(status.state == .succeeded, "\(status.failure ?? "")")
        #expect(status.report.map(Self.deterministicPart) == reference)
    }
}
