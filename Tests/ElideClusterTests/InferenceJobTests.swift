import ElideEngine
import ElideFormats
import ElideModels
import ElideTensor
import Foundation
import Testing

@testable import ElideCluster

/// `inference` jobs run in this process on SmolLM2-135M, compared with generation on a session directly.
@Suite(.serialized)
struct InferenceJobTests {
    static let prompts: [InferencePromptEntry] = [
        InferencePromptEntry(prompt: "The capital of France is"),
        InferencePromptEntry(prompt: "Write one sentence about the sea.", maxTokens: 6, chat: true),
        InferencePromptEntry(prompt: "It is a truth universally acknowledged"),
    ]

    /// Builds a spec as `elide submit` prepares it, without a prompts file.
    static func spec(
        _ prompts: [InferencePromptEntry] = prompts, options: [String: String] = [:], plan: CompressionPlan? = nil
    ) throws -> JobSpec {
        var values = ["max-tokens": "10", "threads": "1"].merging(options) { $1 }
        values["prompts-json"] = String(decoding: try JSONEncoder().encode(prompts), as: UTF8.self)
        if let plan { values["plan-json"] = String(decoding: try JSONEncoder().encode(plan), as: UTF8.self) }
        return JobSpec(kind: "inference", seed: 3, options: values)
    }

    /// Greedy tokens of `entry` on a fresh session, as `elide generate --threads 1` runs it.
    static func direct(
        _ entry: InferencePromptEntry, maxTokens: Int, mask: SubBlockMask? = nil,
        skipPolicy: FeedForwardSkipPolicy? = nil
    ) throws -> [Int] {
        let file = try GGUFFile(path: EvoPressAssets.model)
        let model = try LlamaModel(file: file)
        let tokenizer = try BPETokenizer(gguf: file)
        let chat = entry.chat ?? false
        let prompt = PromptEncoding.tokens(of: entry.prompt, chat: chat, tokenizer: tokenizer)
        let limit = entry.maxTokens ?? maxTokens
        let session = LlamaSession(
            model: model, capacity: prompt.count + limit, precision: .q8, mask: mask, pool: ThreadPool(threads: 2))
        var sampler = TokenSampler(temperature: 0, seed: 0)
        return TextGenerator(session: session).generate(
            prompt: prompt, maxTokens: limit, sampler: &sampler,
            stopTokens: PromptEncoding.stopTokens(chat: chat, tokenizer: tokenizer), skipPolicy: skipPolicy
        ).generatedTokens
    }

    static func tokens(_ report: JobReport) throws -> [[Int]] {
        guard case .array(let results) = report.values["results"] else { throw TestFailure("no results array") }
        return try results.map { result in
            guard case .object(let fields) = result, case .array(let tokens) = fields["tokens"] else {
                throw TestFailure("a result without tokens: \(result)")
            }
            return tokens.compactMap { value in
                if case .number(let number) = value { return Int(number) }
                return nil
            }
        }
    }

    @Test func promptsFileAcceptsStringsAndObjectsAndNamesBadLines() throws {
        let text = """
            "plain text"

            {"prompt": "chat text", "max_tokens": 5, "chat": true}
            """
        let entries = try InferencePromptFile.parse(text, name: "p.jsonl")
        #expect(
            entries == [
                InferencePromptEntry(prompt: "plain text"),
                InferencePromptEntry(prompt: "chat text", maxTokens: 5, chat: true),
            ])
        #expect(throws: JobDriverError.self) { try InferencePromptFile.parse("\"ok\"\n{\"text\": 1}", name: "p.jsonl") }
        do {
            _ = try InferencePromptFile.parse("\"ok\"\n{\"text\": 1}", name: "p.jsonl")
        } catch let error as JobDriverError {
            #expect(error.message.contains("p.jsonl line 2"))
        }
        #expect(throws: JobDriverError.self) {
            try InferencePromptFile.parse("{\"prompt\": \"x\", \"max_tokens\": 0}", name: "p")
        }
        #expect(throws: JobDriverError.self) { try InferencePromptFile.parse("\n\n", name: "p") }
    }

    @Test func submitWithoutPromptsIsRejected() throws {
        #expect(throws: JobDriverError.self) { try InferenceDriver(spec: JobSpec(kind: "inference", seed: 1)) }
        #expect(throws: JobDriverError.self) { try InferenceJob.prepare(JobSpec(kind: "inference", seed: 1)) }
        #expect(throws: JobDriverError.self) {
            try InferenceDriver(spec: try Self.spec(options: ["shard": "columns"]))
        }
    }

    @Test func localJobMatchesDirectGenerationForAnyGrouping() throws {
        try EvoPressAssets.requireAll()
        let expected = try Self.prompts.map { try Self.direct($0, maxTokens: 10) }
        #expect(expected[1].count <= 6)
        let single = try LocalJobRunner.run(try Self.spec())
        #expect(try Self.tokens(single) == expected)
        let grouped = try LocalJobRunner.run(try Self.spec(options: ["prompts-per-task": "2", "threads": "2"]))
        #expect(try Self.tokens(grouped) == expected)
        #expect(grouped.values["results_jsonl"] == single.values["results_jsonl"])
        guard case .string(let jsonl) = single.values["results_jsonl"] else { throw TestFailure("no JSONL") }
        #expect(jsonl.split(separator: "\n").count == Self.prompts.count)
    }

    @Test func planIsAppliedLikeTheSessionMask() throws {
        try EvoPressAssets.requireAll()
        let plan = CompressionPlan(layers: 30, attentionDropped: [5, 20], mlpDropped: [12, 27])
        let prompts = Array(Self.prompts.prefix(2))
        let expected = try prompts.map { try Self.direct($0, maxTokens: 10, mask: plan.mask) }
        let dense = try prompts.map { try Self.direct($0, maxTokens: 10) }
        #expect(expected != dense, "dropping four sub-blocks changed no token; the plan may be ignored")
        let report = try LocalJobRunner.run(try Self.spec(prompts, plan: plan))
        #expect(try Self.tokens(report) == expected)
    }

    @Test func skipPolicyIsAppliedLikeTheGenerator() throws {
        try EvoPressAssets.requireAll()
        let policy = FeedForwardSkipPolicy(warmupTokens: 2, coldStart: 2, coldEnd: 2, threshold: 0.95, skipCount: 2)
        let prompts = [Self.prompts[0], Self.prompts[2]]
        let expected = try prompts.map { try Self.direct($0, maxTokens: 16, skipPolicy: policy) }
        var spec = try Self.spec(prompts, options: ["max-tokens": "16"])
        spec.options["ffn-skip-json"] = String(decoding: try policy.jsonData(), as: UTF8.self)
        let report = try LocalJobRunner.run(spec)
        #expect(try Self.tokens(report) == expected)
        guard case .object(let timings) = report.values["timings"], case .number(let ratio) = timings["ffn_skip_ratio"]
        else { throw TestFailure("the report has no FFN skip ratio") }
        #expect(ratio > 0, "a threshold of 0.95 skipped no FFN block")
        #expect(report.summary.contains("FFN skipping:"))
        guard case .object(let recorded) = report.values["ffn_skip_policy"] else {
            throw TestFailure("the report does not record the FFN skip policy")
        }
        #expect(recorded["threshold"] == .number(0.95))
        #expect(recorded["skip_count"] == .number(2))
    }

    @Test func skipPolicyIsRejectedWithLayerSharding() throws {
        let policy = FeedForwardSkipPolicy(warmupTokens: 2, coldStart: 2, coldEnd: 2, threshold: 0.95, skipCount: 2)
        var spec = try Self.spec(options: ["shard": "layers", "ffn-skip": "policy.json"])
        spec.options["ffn-skip-json"] = String(decoding: try policy.jsonData(), as: UTF8.self)
        #expect(throws: JobDriverError.self) { try InferenceJob.kind.makeDriver(spec) }
    }
}
