import Foundation
import Glibc
import Testing

@testable import ElideCluster

/// `elide submit inference --shard layers` against real processes on 127.0.0.1: two workers each hold one
/// pipeline stage, the results equal `elide generate`'s and request sharding's byte for byte, and killing a
/// worker mid-job moves its stage to the other worker without changing the output.
@Suite(.serialized)
struct InferencePipelineClusterTests {
    @Test func layerShardsMatchLocalGenerateAndSurviveAWorkerKill() throws {
        try EvoPressAssets.requireAll()
        let cluster = try TestCluster()
        let promptsFile = cluster.folder.path + "/prompts.jsonl"
        try (InferenceClusterTests.prompts.map { "\"\($0)\"" }.joined(separator: "\n") + "\n").write(
            toFile: promptsFile, atomically: true, encoding: .utf8)
        let expected = try InferenceClusterTests.generated(cluster)

        try cluster.startCoordinator()
        try cluster.startWorker("one")
        try cluster.startWorker("two")
        try cluster.waitForWorkers(2)
        let submit = [
            "submit", "inference", "--prompts", promptsFile, "--max-tokens", "12", "--coordinator",
            cluster.address.description,
        ]
        let layers = ["--shard", "layers", "--stages", "2"]
        let pipelineOut = cluster.folder.path + "/layers"
        let (code, _) = try cluster.run("elide", submit + layers + ["--wait", "--out", pipelineOut])
        #expect(code == 0, "coordinator log:\n\(cluster.log("coordinator"))")
        #expect(try InferenceClusterTests.resultTokens(pipelineOut) == expected)
        let status = try cluster.client().status()
        #expect(status.workers.allSatisfy { $0.tasksDone > 0 }, "a worker held no stage: \(status.workers)")

        let requestsOut = cluster.folder.path + "/requests"
        let (requestsCode, _) = try cluster.run("elide", submit + ["--wait", "--out", requestsOut])
        #expect(requestsCode == 0)
        let pipelineBytes = try Data(contentsOf: URL(fileURLWithPath: pipelineOut + "/results.jsonl"))
        let requestBytes = try Data(contentsOf: URL(fileURLWithPath: requestsOut + "/results.jsonl"))
        #expect(pipelineBytes == requestBytes, "results.jsonl differs between --shard layers and requests")

        // Kill worker two while it runs a stage task, once the first prompts are decoding (each prompt's
        // prefill is 2 tasks and 4 prompts start at once) and before any prompt finished. The prompts with
        // state on worker two then start over on worker one.
        let (submitCode, idText) = try cluster.run("elide", submit + layers)
        #expect(submitCode == 0)
        let id = try #require(JobID(parsing: idText.trimmingCharacters(in: .whitespacesAndNewlines)))
        let killed = try cluster.kill("two", job: id, seconds: 120, interval: 2_000) { job, victim in
            guard let job, (victim?.slotsUsed ?? 0) > 0 else { return false }
            return job.tasksDone >= 16 && job.progress.completed == 0
        }
        #expect(killed, "worker two never ran a stage task while the first prompts were decoding")
        let survived = try cluster.waitForJob(id, seconds: 300)
        #expect(survived.state == .succeeded, "\(survived.failure ?? "")")
        #expect(survived.retries >= 1)
        let report = try #require(survived.report)
        guard case .object(let timings) = report.values["timings"], case .number(let restarts) = timings["restarts"]
        else { throw TestFailure("the report has no restart count") }
        #expect(restarts >= 1, "no prompt started over after its stage's worker died")
        let after = cluster.folder.path + "/after-kill"
        _ = try ReportFiles.write(report, to: after)
        #expect(try InferenceClusterTests.resultTokens(after) == expected)
        let afterBytes = try Data(contentsOf: URL(fileURLWithPath: after + "/results.jsonl"))
        #expect(afterBytes == requestBytes)
    }
}
