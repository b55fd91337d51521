import Foundation
import Testing

@Suite(.serialized) struct EngineCommandTests {
    @Test func unknownOptionIsUsageErrorWithSuggestion() throws {
        let output = try ElideProcess.run(["generate", "--model", "m.gguf", "--prompt", "x", "--max-token", "3"])
        #expect(output.status == 64)
        #expect(output.standardError.contains("did you mean --max-tokens?"))
    }

    @Test func unknownCommandIsUsageError() throws {
        let output = try ElideProcess.run(["generat"])
        #expect(output.status == 64)
        #expect(output.standardError.contains("did you mean 'generate'?"))
    }

    @Test func helpListsOptionsWithDefaults() throws {
        let output = try ElideProcess.run(["eval", "perplexity", "--help"])
        #expect(output.status == 0)
        #expect(output.standardOutput.contains("--context N"))
        #expect(output.standardOutput.contains("(default: 512)"))
        #expect(output.standardOutput.contains("--protocol elide|llama.cpp"))
    }

    @Test func missingModelFileFailsWithPath() throws {
        let output = try ElideProcess.run(["inspect", "/nonexistent/model.gguf"])
        #expect(output.status == 1)
        #expect(output.standardError.contains("/nonexistent/model.gguf"))
    }

    @Test func wrongMagicFailsWithoutCrash() throws {
        let directory = try ElideProcess.temporaryDirectory()
        let path = directory.appendingPathComponent("wrong-magic.gguf").path
        try Data("GGUX".utf8 + [UInt8](repeating: 0, count: 60)).write(to: URL(fileURLWithPath: path))
        let output = try ElideProcess.run(["inspect", path])
        #expect(output.status == 1)
        #expect(output.standardError.contains(path))
        #expect(output.standardError.lowercased().contains("magic"))
    }

    @Test func truncatedModelFailsWithPathAndOffset() throws {
        let model = try ElideProcess.requireModel()
        let directory = try ElideProcess.temporaryDirectory()
        let path = directory.appendingPathComponent("truncated.gguf").path
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: model))
        let head = handle.readData(ofLength: 200_000)
        try handle.close()
        try head.write(to: URL(fileURLWithPath: path))
        let output = try ElideProcess.run(["generate", "--model", path, "--prompt", "Hello", "--max-tokens", "1"])
        #expect(output.status == 1)
        #expect(output.standardError.contains(path))
        #expect(output.standardError.contains("offset") || output.standardError.contains("byte"))
    }

    @Test func nonUTF8TextFailsWithOffset() throws {
        let model = try ElideProcess.requireModel()
        let directory = try ElideProcess.temporaryDirectory()
        let path = directory.appendingPathComponent("latin1.txt").path
        try Data("caf".utf8 + [0xE9] + " au lait".utf8).write(to: URL(fileURLWithPath: path))
        let output = try ElideProcess.run(["eval", "perplexity", "--model", model, "--text", path])
        #expect(output.status == 1)
        #expect(output.standardError.contains("not valid UTF-8"))
        #expect(output.standardError.contains("offset 3"))
    }

    @Test func generateJSONReportsTokensAndSpeeds() throws {
        let model = try ElideProcess.requireModel()
        let output = try ElideProcess.run([
            "generate", "--model", model, "--prompt", "The capital of France is", "--max-tokens", "6",
            "--temperature", "0", "--json",
        ])
        #expect(output.status == 0, "stderr: \(output.standardError)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any])
        let tokens = try #require(object["tokens"] as? [Int])
        #expect(tokens.count == 6)
        #expect((object["text"] as? String)?.contains("Paris") == true)
        #expect((object["prefill_tokens_per_second"] as? Double ?? 0) > 0)
        #expect((object["decode_tokens_per_second"] as? Double ?? 0) > 0)
    }

    @Test func samplingIsReproducibleBySeed() throws {
        let model = try ElideProcess.requireModel()
        func sample(seed: String) throws -> [Int] {
            let output = try ElideProcess.run([
                "generate", "--model", model, "--prompt", "Once upon a time", "--max-tokens", "12",
                "--temperature", "1.0", "--seed", seed, "--json",
            ])
            let object = try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any]
            return object?["tokens"] as? [Int] ?? []
        }
        let first = try sample(seed: "7")
        #expect(first.count == 12)
        #expect(try sample(seed: "7") == first)
        #expect(try sample(seed: "8") != first)
    }
}
