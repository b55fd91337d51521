import ElideWire
import Foundation
import Glibc
import Testing

@testable import ElideCluster

/// An `evopress` job on a real coordinator and real workers on 127.0.0.1 must give the report of the same job
/// run in this process on 1, 2 and 4 workers, and after a worker is killed mid-search.
@Suite(.serialized)
struct EvoPressClusterTests {
    /// A small real configuration: sequences of 64 tokens, 2 generations of 4 offspring, 256 held-out tokens.
    static let spec = JobSpec(
        kind: "evopress", seed: 21,
        options: [
            "sequence-length": "64", "calibration-sequences": "4",
            "schedule": "offspring=4,stage=1x64,stage=1x128,initial=4x64", "generations": "2",
            "eval-tokens": "256", "random-candidates": "4", "threads": "1",
        ])

    @Test func reportIsSameForAnyWorkerCountAndAfterKill() throws {
        try EvoPressAssets.requireAll()
        let reference = EvoPressAssets.deterministicPart(try LocalJobRunner.run(Self.spec))

        let cluster = try TestCluster()
        try cluster.startCoordinator()
        try cluster.startWorker("one")
        try cluster.waitForWorkers(1)
        let single = try cluster.waitForJob(try cluster.client().submit(Self.spec), seconds: 300)
        #expect(single.state == .succeeded, "\(single.failure ?? "")")
        #expect(single.report.map(EvoPressAssets.deterministicPart) == reference)

        try cluster.startWorker("two")
        try cluster.waitForWorkers(2)
        let before = try cluster.client().status().workers
        let double = try cluster.waitForJob(try cluster.client().submit(Self.spec), seconds: 300)
        #expect(double.state == .succeeded, "\(double.failure ?? "")")
        #expect(double.report.map(EvoPressAssets.deterministicPart) == reference)
        let after = try cluster.client().status().workers
        let secondWorkerTasks =
            (after.first { $0.name == "two" }?.tasksDone ?? 0) - (before.first { $0.name == "two" }?.tasksDone ?? 0)
        #expect(secondWorkerTasks > 0, "the second worker ran none of the tasks")

        try cluster.startWorker("three")
        try cluster.startWorker("four")
        try cluster.waitForWorkers(4)
        let quadruple = try cluster.waitForJob(try cluster.client().submit(Self.spec), seconds: 300)
        #expect(quadruple.state == .succeeded, "\(quadruple.failure ?? "")")
        #expect(quadruple.report.map(EvoPressAssets.deterministicPart) == reference)

        // Kill worker two while it runs a task after the first generation.
        let job = try cluster.client().submit(Self.spec)
        let killed = try cluster.kill("two", job: job, seconds: 240, interval: 20_000) { job, victim in
            (job?.progress.completed ?? 0) >= 1 && (victim?.slotsUsed ?? 0) > 0
        }
        #expect(killed, "worker two never ran a task after the first generation")
        let survived = try cluster.waitForJob(job, seconds: 300)
        #expect(survived.state == .succeeded, "\(survived.failure ?? "")")
        #expect(survived.retries >= 1)
        #expect(survived.report.map(EvoPressAssets.deterministicPart) == reference)
    }
}
