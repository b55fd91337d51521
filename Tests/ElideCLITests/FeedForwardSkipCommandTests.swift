import Foundation
import Testing

/// Tests of the FFN skipping options of `elide generate` and `elide bench`, and of `elide calibrate`.
@Suite struct FeedForwardSkipCommandTests {
    static func writePolicy(in directory: URL, threshold: String = "0.97") throws -> String {
        let path = directory.appendingPathComponent("policy.json").path
        let json =
            #"{"warmup_tokens": 3, "cold_start": 2, "cold_end": 2, "threshold": "#
            + threshold + #", "skip_count": 2}"#
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func calibrateRejectsBadTargetRatio() throws {
        let output = try ElideProcess.run([
            "calibrate", "ffn-skip", "--model", "/nonexistent.gguf", "--target-skip", "1.5",
        ])
        #expect(output.status == 64)
        #expect(output.standardError.contains("--target-skip"))
    }

    @Test func calibrateRejectsUnknownKind() throws {
        let output = try ElideProcess.run(["calibrate", "layers", "--model", "/nonexistent.gguf"])
        #expect(output.status == 64)
        #expect(output.standardError.contains("calibrate ffn-skip"))
    }

    @Test func evalHelpListsSkipOptions() throws {
        let output = try ElideProcess.run(["eval", "ffn-skip", "--help"])
        #expect(output.status == 0)
        for option in ["--policy", "--ratios", "--svg", "--plan"] {
            #expect(output.standardOutput.contains(option), "help lacks \(option)")
        }
    }

    @Test func generateLogsSkipsPerToken() throws {
        let model = try ElideProcess.requireModel()
        let directory = try ElideProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = try Self.writePolicy(in: directory)
        let logPath = directory.appendingPathComponent("skips.jsonl").path
        let output = try ElideProcess.run([
            "generate", "--model", model, "--prompt", "The capital of France is", "--max-tokens", "12",
            "--temperature", "0", "--ffn-skip", policy, "--log-skips", logPath, "--json",
        ])
        #expect(output.status == 0, "stderr: \(output.standardError)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any])
        let ratio = try #require(object["ffn_skip_ratio"] as? Double)
        #expect(ratio > 0)

        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 12)
        let entries = try lines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        let skipped = entries.map { $0["skipped_layers"] as? [Int] ?? [-1] }
        #expect(skipped[0...2].allSatisfy { $0.isEmpty }, "the first 3 tokens are the warm-up")
        #expect(Set(skipped.joined()).isDisjoint(with: [0, 1, 28, 29]))
        let loggedTokens = entries.compactMap { $0["token"] as? Int }
        #expect(loggedTokens == object["tokens"] as? [Int])
    }

    @Test func logSkipsWithoutPolicyIsUsageError() throws {
        let model = try ElideProcess.requireModel()
        let output = try ElideProcess.run([
            "generate", "--model", model, "--prompt", "Hello", "--log-skips", "/tmp/unused-skips.jsonl",
        ])
        #expect(output.status == 64)
        #expect(output.standardError.contains("--ffn-skip"))
    }

    @Test func badPolicyFileIsNamed() throws {
        let model = try ElideProcess.requireModel()
        let directory = try ElideProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = try Self.writePolicy(in: directory, threshold: "\"high\"")
        let output = try ElideProcess.run([
            "bench", "--model", model, "--prompt-tokens", "0", "--gen-tokens", "4", "--ffn-skip", policy,
        ])
        #expect(output.status == 1)
        #expect(output.standardError.contains(policy))
        #expect(output.standardError.contains("threshold"))
    }
}
