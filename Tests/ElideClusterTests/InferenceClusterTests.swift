import Foundation
import Glibc
import Testing

@testable import ElideCluster

/// `elide submit inference` against real processes on 127.0.0.1: the results equal `elide generate`'s for
/// every prompt, on two workers and after one of them is killed mid-job.
@Suite(.serialized)
struct InferenceClusterTests {
    static let prompts = [
        "The capital of France is", "Once upon a time", "The best way to learn a language is",
        "In the morning, the village", "Elizabeth Bennet said", "A list of three colours:",
    ]

    /// `elide generate --json` token ids of each prompt, greedy, 12 tokens.
    static func generated(_ cluster: TestCluster) throws -> [[Int]] {
        try prompts.map { prompt in
            let (code, output) = try cluster.run(
                "elide",
                [
                    "generate", "--model", EvoPressAssets.model, "--prompt", prompt, "--max-tokens", "12", "--json",
                    "--temperature", "0",
                ])
            #expect(code == 0)
            let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
            return try #require(object?["tokens"] as? [Int])
        }
    }

    static func resultTokens(_ folder: String) throws -> [[Int]] {
        let text = try String(contentsOfFile: folder + "/results.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return try #require(object?["tokens"] as? [Int])
        }
    }

    @Test func requestShardsMatchLocalGenerateAndSurviveAWorkerKill() throws {
        try EvoPressAssets.requireAll()
        let cluster = try TestCluster()
        let promptsFile = cluster.folder.path + "/prompts.jsonl"
        try (Self.prompts.map { "\"\($0)\"" }.joined(separator: "\n") + "\n").write(
            toFile: promptsFile, atomically: true, encoding: .utf8)
        let expected = try Self.generated(cluster)

        try cluster.startCoordinator()
        try cluster.startWorker("one")
        try cluster.startWorker("two")
        try cluster.waitForWorkers(2)
        let submit = [
            "submit", "inference", "--prompts", promptsFile, "--max-tokens", "12", "--coordinator",
            cluster.address.description,
        ]
        let out = cluster.folder.path + "/run1"
        let (code, _) = try cluster.run("elide", submit + ["--wait", "--out", out])
        #expect(code == 0, "coordinator log:\n\(cluster.log("coordinator"))")
        #expect(try Self.resultTokens(out) == expected)
        let status = try cluster.client().status()
        #expect(status.workers.allSatisfy { $0.tasksDone > 0 }, "a worker ran no prompt: \(status.workers)")
        // The coordinator also keeps the report in the job's folder.
        let job = try #require(status.jobs.last?.id)
        #expect(try Self.resultTokens(cluster.stateDirectory + "/jobs/" + job) == expected)

        // Kill worker two while it runs a prompt; its prompt runs again on worker one.
        let (submitCode, idText) = try cluster.run("elide", submit)
        #expect(submitCode == 0)
        let id = try #require(JobID(parsing: idText.trimmingCharacters(in: .whitespacesAndNewlines)))
        let killed = try cluster.kill("two", job: id, seconds: 120, interval: 10_000) { job, victim in
            (job?.progress.completed ?? 0) >= 1 && (victim?.slotsUsed ?? 0) > 0
        }
        #expect(killed, "worker two never ran a prompt after the first result")
        let survived = try cluster.waitForJob(id, seconds: 300)
        #expect(survived.state == .succeeded, "\(survived.failure ?? "")")
        #expect(survived.retries >= 1)
        let after = cluster.folder.path + "/run2"
        _ = try ReportFiles.write(try #require(survived.report), to: after)
        #expect(try Self.resultTokens(after) == expected)
    }
}
