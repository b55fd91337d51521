import ElideEngine
import ElideModels
import ElideSupport
import Foundation

/// Job kind `inference`: text generation for a file of prompts, with an optional drop plan, spread over the
/// workers by requests or by layers. With requests, each task runs whole prompts (data parallel). With
/// layers, each worker runs a contiguous layer range and keeps its KV caches, and hidden states flow through
/// the stages for every token (pipeline parallel, see `InferencePipelineDriver`).
///
/// `elide submit` reads the prompts file, the plan and the FFN skip policy and puts their contents into the
/// spec (`prompts-json`, `plan-json`, `ffn-skip-json`). So the coordinator needs no access to the client's
/// files, and the workers read only the model. Results come back in the order of the prompts file. Each
/// prompt's sampler seed comes from the job seed and the prompt's index, so with the same seed the results
/// do not depend on the number of workers, the prompts per task or retries.
///
/// With `--images`, the job runs a vision policy (token reduction, HiRED, YOPO) over image files instead:
/// see `VisionInferenceDriver`.
public enum InferenceJob {
    public static let executorKind = "inference"
    public static let visionExecutorKind = "inference-vision"

    /// The DINOv2-S file that `scripts/fetch-assets` installs under `$ELIDE_HOME`.
    static var defaultVisionModelPath: String { CommandSupport.elideHome + "/models/dinov2-s-focus.onnx" }

    public static let options: [OptionSpec] = [
        OptionSpec(
            "model", value: "PATH", help: "GGUF model file; every worker reads this path.",
            default: EvoPressJob.defaultModelPath),
        OptionSpec(
            "prompts", value: "FILE.jsonl",
            help: "One prompt per line: a JSON string, or an object {\"prompt\": TEXT, \"max_tokens\": N, \"chat\": "
                + "BOOL} whose last two fields are optional."),
        OptionSpec("plan", value: "FILE", help: "Drop plan (JSON) from `elide submit evopress` or written by hand."),
        OptionSpec(
            "ffn-skip", value: "POLICY",
            help: "FFN-SkipLLM policy file from `elide calibrate ffn-skip`; decode steps skip FFN blocks by it "
                + "(request sharding only)."),
        OptionSpec(
            "max-tokens", value: "N", help: "Tokens to generate per prompt unless its line sets max_tokens.",
            default: "64"),
        .flag("chat", help: "Wrap every prompt as a ChatML user message unless its line sets chat."),
        OptionSpec("temperature", value: "T", help: "0 for greedy decoding; otherwise sample.", default: "0"),
        OptionSpec("top-k", value: "K", help: "Sample among the K most likely tokens.", default: "40"),
        OptionSpec(
            "shard", value: "requests|layers",
            help: "How work is spread: requests (whole prompts per task) or layers (a pipeline of layer ranges, "
                + "greedy only).",
            default: "requests"),
        OptionSpec(
            "prompts-per-task", value: "N", help: "Prompts one task runs in sequence with --shard requests.",
            default: "1"),
        OptionSpec(
            "stages", value: "N",
            help: "Pipeline stages with --shard layers: contiguous layer ranges of near-equal size, each kept by "
                + "one worker.",
            default: "2"),
        OptionSpec(
            "pipeline-prompts", value: "N",
            help: "Prompts generating at once with --shard layers, so that the stages work in parallel.",
            default: "4"),
        OptionSpec(
            "threads", value: "N", help: "Compute threads per task; greedy output is the same for any count.",
            default: "1"),
        OptionSpec(
            "activations", value: "q8|f32",
            help: "Activation precision: q8 matches llama.cpp's CPU arithmetic, f32 keeps Float32.", default: "q8"),
        OptionSpec(
            "images", value: "FILES|DIR",
            help: "Comma-separated PNG or JPEG files, or a folder of them: run --vision-policy on each image instead "
                + "of generating text. Every worker reads these paths."),
        OptionSpec(
            "vision-policy", value: "FILE|SPEC",
            help: "Vision policy for --images: a JSON file or one spec such as evit:0.5, hired:0.2 or "
                + "yopo:window=3,pruned_heads=4.0/4.5 (heads as LAYER.HEAD; 'elide eval vision --json' prints "
                + "calibrated YOPO policies).",
            default: "none"),
        OptionSpec(
            "vision-model", value: "PATH", help: "DINOv2 ONNX file for --images; every worker reads this path.",
            default: defaultVisionModelPath),
        OptionSpec(
            "image-side", value: "PIXELS", help: "Side of the square view the model sees, a multiple of 14.",
            default: "224"),
        OptionSpec("images-per-task", value: "N", help: "Images one task runs with --images.", default: "1"),
    ]

    public static let kind = JobKind(
        name: "inference",
        summary: "Generate text for a file of prompts (optionally with a drop plan and FFN skipping), or run a "
            + "vision policy over images.",
        options: options, makeDriver: { try makeDriver($0) },
        executors: [InferenceExecutor(), InferenceStageExecutor(), VisionInferenceExecutor()],
        prepare: { try prepare($0) },
        preparedOptions: ["prompts-json", "plan-json", "ffn-skip-json", "images-json", "vision-policy-json"])

    static func makeDriver(_ spec: JobSpec) throws -> any JobDriver {
        if spec.options["images-json"] != nil || spec.options["images"] != nil {
            return VisionInferenceDriver(settings: try VisionInferenceSettings(spec: spec))
        }
        let settings = try InferenceSettings(spec: spec)
        switch settings.shard {
        case .requests: return try InferenceDriver(settings: settings)
        case .layers: return try InferencePipelineDriver(settings: settings)
        }
    }

    /// Reads the prompts file, the plan and the FFN skip policy named in `spec` and adds their contents as
    /// `prompts-json`, `plan-json` and `ffn-skip-json`.
    static func prepare(_ spec: JobSpec) throws -> JobSpec {
        if let images = spec.options["images"] { return try prepareImages(spec, images: images) }
        var spec = spec
        guard let path = spec.options["prompts"], !path.isEmpty else {
            throw JobDriverError("missing option --prompts: give a JSONL file with one prompt per line")
        }
        let entries = try InferencePromptFile.read(path: path)
        spec.options["prompts-json"] = String(decoding: try EvoPressCoding.encoder.encode(entries), as: UTF8.self)
        if let planPath = spec.options["plan"], !planPath.isEmpty {
            let plan = try CompressionPlan.load(path: planPath)
            spec.options["plan-json"] = String(decoding: try EvoPressCoding.encoder.encode(plan), as: UTF8.self)
        }
        if let policyPath = spec.options["ffn-skip"], !policyPath.isEmpty {
            let policy = try FeedForwardSkipPolicy.load(path: policyPath)
            spec.options["ffn-skip-json"] = String(decoding: try policy.jsonData(), as: UTF8.self)
        }
        return spec
    }
}

extension InferenceJob {
    /// Lists the files of `--images` (a folder's PNG and JPEG files in name order) as `images-json` and puts
    /// the `--vision-policy` file or spec into `vision-policy-json`.
    static func prepareImages(_ spec: JobSpec, images: String) throws -> JobSpec {
        var spec = spec
        if let prompts = spec.options["prompts"], !prompts.isEmpty {
            throw JobDriverError("give either --prompts (text generation) or --images (vision), not both")
        }
        var paths: [String] = []
        for item in images.split(separator: ",").map(String.init) where !item.isEmpty {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: item, isDirectory: &isFolder) else {
                throw JobDriverError("--images names \(item), which does not exist; give PNG or JPEG files or a folder")
            }
            if isFolder.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: item).sorted()
                let pictures = names.filter { name in
                    ["png", "jpg", "jpeg"].contains((name as NSString).pathExtension.lowercased())
                }
                guard !pictures.isEmpty else {
                    throw JobDriverError(
                        "the folder \(item) given to --images contains no .png, .jpg or .jpeg file; add images or name the files"
                    )
                }
                let folder = URL(fileURLWithPath: item).standardizedFileURL.path
                paths += pictures.map { folder + "/" + $0 }
            } else {
                paths.append(URL(fileURLWithPath: item).standardizedFileURL.path)
            }
        }
        guard !paths.isEmpty else { throw JobDriverError("--images is empty; give PNG or JPEG files or a folder") }
        spec.options["images-json"] = String(decoding: try EvoPressCoding.encoder.encode(paths), as: UTF8.self)
        let policyText = spec.options["vision-policy"] ?? "none"
        let policy: VisionPolicy
        if FileManager.default.fileExists(atPath: policyText) {
            let policies = try VisionPolicy.load(path: policyText)
            guard policies.count == 1, let only = policies.first else {
                throw JobDriverError(
                    "the vision policy file \(policyText) contains \(policies.count) policies; an inference job runs one, so give a file with one policy"
                )
            }
            policy = only
        } else if policyText.contains(";") {
            throw JobDriverError(
                "--vision-policy '\(policyText)' lists several policies; an inference job runs one, so submit one "
                    + "job per policy ('elide eval vision' compares several)")
        } else if policyText.hasSuffix(".json") || policyText.contains("/") {
            throw JobDriverError(
                "--vision-policy names \(policyText), which does not exist; give a JSON file or a spec")
        } else {
            policy = try VisionPolicy.parse(spec: policyText)
        }
        spec.options["vision-policy-json"] = String(
            decoding: try EvoPressCoding.encoder.encode(policy), as: UTF8.self)
        return spec
    }
}

/// One line of a prompts file; the optional fields fall back to the job's options.
struct InferencePromptEntry: Codable, Sendable, Equatable {
    var prompt: String
    var maxTokens: Int?
    var chat: Bool?

    enum CodingKeys: String, CodingKey {
        case prompt
        case maxTokens = "max_tokens"
        case chat
    }
}

/// Reads prompts files (JSON Lines).
enum InferencePromptFile {
    static func read(path: String) throws -> [InferencePromptEntry] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JobDriverError("cannot read the prompts file \(path): file not found or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw JobDriverError("the prompts file \(path) is not UTF-8 text")
        }
        return try parse(text, name: path)
    }

    /// Parses JSON Lines: blank lines are skipped; every other line is a JSON string or an entry object.
    static func parse(_ text: String, name: String) throws -> [InferencePromptEntry] {
        var entries: [InferencePromptEntry] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { continue }
            let bytes = Data(trimmed.utf8)
            let entry: InferencePromptEntry
            if let prompt = try? JSONDecoder().decode(String.self, from: bytes) {
                entry = InferencePromptEntry(prompt: prompt)
            } else {
                do {
                    entry = try JSONDecoder().decode(InferencePromptEntry.self, from: bytes)
                } catch {
                    throw JobDriverError(
                        "\(name) line \(number + 1) is not a JSON string or an object with a \"prompt\" string: "
                            + "\(trimmed.prefix(80))")
                }
            }
            if let maxTokens = entry.maxTokens, maxTokens < 1 {
                throw JobDriverError("\(name) line \(number + 1): max_tokens is \(maxTokens); give 1 or more")
            }
            guard !entry.prompt.isEmpty else {
                throw JobDriverError("\(name) line \(number + 1): the prompt is empty")
            }
            entries.append(entry)
        }
        guard !entries.isEmpty else {
            throw JobDriverError("the prompts file \(name) contains no prompts; give one JSON line per prompt")
        }
        return entries
    }
}
