import ElideEngine
import ElideModels
import Foundation

/// The options of an `inference` job, parsed and checked once for both ways of sharding.
struct InferenceSettings: Sendable {
    /// The way work is spread over workers.
    enum Shard: String, Sendable {
        /// Whole prompts per task (data parallel).
        case requests
        /// Contiguous layer ranges per worker, with hidden states passed between them (pipeline parallel).
        case layers
    }

    let prompts: [InferencePrompt]
    /// Model settings every task shares; its `prompts` is empty.
    let template: InferenceTask
    let promptsPerTask: Int
    let shard: Shard
    /// Pipeline stages with `--shard layers`.
    let stages: Int
    /// Prompts generating at once with `--shard layers`.
    let pipelinePrompts: Int
    /// FNV-1a digest of the whole spec, which names the job's stage sessions on the workers.
    let specDigest: String

    init(spec: JobSpec) throws {
        let options = JobOptions(spec, options: InferenceJob.options)
        guard let promptsJSON = spec.options["prompts-json"] else {
            throw JobDriverError(
                "the inference job carries no prompts: submit it with 'elide submit inference --prompts FILE.jsonl', "
                    + "which reads the file and sends its prompts")
        }
        let entries: [InferencePromptEntry]
        do {
            entries = try JSONDecoder().decode([InferencePromptEntry].self, from: Data(promptsJSON.utf8))
        } catch {
            throw JobDriverError("the job's prompts-json is not a JSON array of prompts: \(error)")
        }
        guard !entries.isEmpty else { throw JobDriverError("the inference job has no prompts") }

        let maxTokens = try options.int("max-tokens", in: 1...1_000_000)
        let chat = try Self.flag(spec, "chat")
        prompts = entries.enumerated().map { index, entry in
            InferencePrompt(
                index: index, text: entry.prompt, maxTokens: entry.maxTokens ?? maxTokens, chat: entry.chat ?? chat,
                seed: TaskSeed.derive(jobSeed: spec.seed, taskIndex: UInt64(index)))
        }

        let shardName = spec.options["shard"] ?? "requests"
        guard let shard = Shard(rawValue: shardName) else {
            throw JobDriverError("invalid value '\(shardName)' for --shard: expected requests or layers")
        }
        self.shard = shard
        let precision = spec.options["activations"] ?? "q8"
        guard ["q8", "f32"].contains(precision) else {
            throw JobDriverError("invalid value '\(precision)' for --activations: expected q8 or f32")
        }
        var plan: CompressionPlan?
        if let planJSON = spec.options["plan-json"] {
            do {
                plan = try JSONDecoder().decode(CompressionPlan.self, from: Data(planJSON.utf8))
            } catch {
                throw JobDriverError("the job's plan-json is not a drop plan: \(error)")
            }
        } else if let path = spec.options["plan"], !path.isEmpty {
            throw JobDriverError(
                "the inference job names the plan \(path) but carries no plan-json; submit it with 'elide submit'")
        }
        var skipPolicyJSON: String?
        if let json = spec.options["ffn-skip-json"] {
            _ = try FeedForwardSkipPolicy.parse(Data(json.utf8), source: "FFN skip policy of the job")
            skipPolicyJSON = json
        } else if let path = spec.options["ffn-skip"], !path.isEmpty {
            throw JobDriverError(
                "the inference job names the FFN skip policy \(path) but carries no ffn-skip-json; submit it with "
                    + "'elide submit'")
        }
        let temperature = try options.double("temperature", in: 0...100)
        template = InferenceTask(
            modelPath: spec.options["model"] ?? EvoPressJob.defaultModelPath,
            threads: try options.int("threads", in: 1...256), precision: precision, plan: plan,
            skipPolicyJSON: skipPolicyJSON,
            sampling: InferenceSampling(
                temperature: Float(temperature), topK: try options.int("top-k", in: 1...1_000_000)),
            prompts: [])
        promptsPerTask = try options.int("prompts-per-task", in: 1...100_000)

        stages = try options.int("stages", in: 1...1_000)
        pipelinePrompts = try options.int("pipeline-prompts", in: 1...StageSessionStore.defaultCapacity)
        if shard == .layers {
            guard temperature == 0 else {
                throw JobDriverError(
                    "--temperature \(temperature) is not supported with --shard layers, which decodes greedily; "
                        + "use --temperature 0, or --shard requests to sample")
            }
            if let policy = spec.options["ffn-skip"], !policy.isEmpty {
                throw JobDriverError(
                    "--ffn-skip is not supported with --shard layers; use --shard requests to skip FFN blocks")
            }
            guard stages * pipelinePrompts <= StageSessionStore.defaultCapacity else {
                throw JobDriverError(
                    "--stages \(stages) × --pipeline-prompts \(pipelinePrompts) is above the "
                        + "\(StageSessionStore.defaultCapacity) stage sessions a worker keeps; lower "
                        + "--pipeline-prompts, so that one worker can hold every stage's sessions")
            }
        }
        specDigest = Self.digest(spec)
    }

    private static func flag(_ spec: JobSpec, _ name: String) throws -> Bool {
        guard let value = spec.options[name] else { return false }
        switch value.lowercased() {
        case "", "true", "yes", "1": return true
        case "false", "no", "0": return false
        default: throw JobDriverError("invalid value '\(value)' for --\(name): expected true or false")
        }
    }

    /// FNV-1a over the kind, the seed and the sorted options. Two jobs with equal digests compute the same
    /// tokens, so a worker may share their stage sessions without changing any output.
    private static func digest(_ spec: JobSpec) -> String {
        var hash = FNV1a64()
        hash.add(Array(spec.kind.utf8))
        hash.add(spec.seed)
        for name in spec.options.keys.sorted() {
            hash.add(Array("\u{0}\(name)=\(spec.options[name] ?? "")".utf8))
        }
        return hash.value.hex16
    }
}
