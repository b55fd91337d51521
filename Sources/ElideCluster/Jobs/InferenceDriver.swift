import ElideEngine
import ElideSupport
import Foundation

/// The coordinator side of `inference`: one task per group of `--prompts-per-task` prompts, results kept by
/// prompt index and reported in file order.
struct InferenceDriver: JobDriver {
    let prompts: [InferencePrompt]
    let template: InferenceTask
    let promptsPerTask: Int
    private var results: [InferenceResult?]
    private var outstanding: [UInt64: Range<Int>] = [:]
    private var completed = 0
    private var generatedTokens = 0
    private var firstStart: Double?
    private var lastFinish: Double?

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

        let shard = spec.options["shard"] ?? "requests"
        guard shard == "requests" else {
            throw JobDriverError("invalid value '\(shard)' for --shard: expected requests")
        }
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
        let temperature = try options.double("temperature", in: 0...100)
        template = InferenceTask(
            modelPath: spec.options["model"] ?? EvoPressJob.defaultModelPath,
            threads: try options.int("threads", in: 1...256), precision: precision, plan: plan,
            sampling: InferenceSampling(
                temperature: Float(temperature), topK: try options.int("top-k", in: 1...1_000_000)),
            prompts: [])
        promptsPerTask = try options.int("prompts-per-task", in: 1...100_000)
        results = Array(repeating: nil, count: prompts.count)
    }

    private static func flag(_ spec: JobSpec, _ name: String) throws -> Bool {
        guard let value = spec.options[name] else { return false }
        switch value.lowercased() {
        case "", "true", "yes", "1": return true
        case "false", "no", "0": return false
        default: throw JobDriverError("invalid value '\(value)' for --\(name): expected true or false")
        }
    }

    mutating func start() throws -> DriverStep {
        var tasks: [TaskRequest] = []
        var first = 0
        while first < prompts.count {
            let range = first..<min(first + promptsPerTask, prompts.count)
            var task = template
            task.prompts = Array(prompts[range])
            let index = UInt64(tasks.count)
            outstanding[index] = range
            tasks.append(TaskRequest(index: index, executor: InferenceJob.executorKind, payload: try task.encoded()))
            first = range.upperBound
        }
        return DriverStep(newTasks: tasks, progress: progress)
    }

    mutating func handle(taskIndex: UInt64, output: [UInt8]) throws -> DriverStep {
        guard let range = outstanding.removeValue(forKey: taskIndex) else {
            throw JobDriverError("inference job received an unexpected or repeated result for task \(taskIndex)")
        }
        let decoded = try InferenceTaskOutput.decode(output, task: taskIndex)
        guard decoded.results.map(\.index) == Array(range) else {
            throw JobDriverError(
                "inference task \(taskIndex) returned results for prompts \(decoded.results.map(\.index)), expected "
                    + "\(Array(range))")
        }
        for result in decoded.results {
            results[result.index] = result
            generatedTokens += result.tokens.count
        }
        completed += decoded.results.count
        firstStart = min(firstStart ?? decoded.startedAt, decoded.startedAt)
        lastFinish = max(lastFinish ?? decoded.finishedAt, decoded.finishedAt)
        guard completed == prompts.count else { return DriverStep(progress: progress) }
        return DriverStep(progress: progress, report: try report())
    }

    var progress: JobProgress {
        JobProgress(
            completed: completed, total: prompts.count, detail: "prompts, \(generatedTokens) tokens generated")
    }

    // MARK: - Report

    private func report() throws -> JobReport {
        let finished = results.compactMap { $0 }
        let wall = max(0, (lastFinish ?? 0) - (firstStart ?? 0))
        var lines: [String] = []
        var objects: [JSONValue] = []
        for (result, prompt) in zip(finished, prompts) {
            let object: JSONValue = .object([
                "index": .number(Double(result.index)), "prompt": .string(prompt.text), "text": .string(result.text),
                "tokens": .array(result.tokens.map { .number(Double($0)) }),
                "prompt_tokens": .number(Double(result.promptTokenCount)),
                "stopped_at_end_of_sequence": .bool(result.stoppedAtEndOfSequence),
            ])
            objects.append(object)
            lines.append(String(decoding: try EvoPressCoding.encoder.encode(object), as: UTF8.self))
        }
        let decodeSeconds = finished.reduce(0) { $0 + $1.decodeSeconds }
        let prefillSeconds = finished.reduce(0) { $0 + $1.prefillSeconds }
        let values: [String: JSONValue] = [
            "results": .array(objects),
            "results_jsonl": .string(lines.joined(separator: "\n") + "\n"),
            "plan": template.plan.map { plan in
                .object([
                    "layers": .number(Double(plan.layers)),
                    "attention_dropped": .array(plan.attentionDropped.map { .number(Double($0)) }),
                    "mlp_dropped": .array(plan.mlpDropped.map { .number(Double($0)) }),
                ])
            } ?? .null,
            "timings": .object([
                "wall_seconds": .number(wall), "generated_tokens": .number(Double(generatedTokens)),
                "tokens_per_second": .number(wall > 0 ? Double(generatedTokens) / wall : 0),
                "prefill_seconds": .number(prefillSeconds), "decode_seconds": .number(decodeSeconds),
            ]),
        ]
        return JobReport(summary: summary(finished, wall: wall), values: values)
    }

    private func summary(_ finished: [InferenceResult], wall: Double) -> String {
        let model = (template.modelPath as NSString).lastPathComponent
        let planText = template.plan.map { "plan dropping \($0.droppedCount) sub-blocks" } ?? "dense"
        var lines = [
            "Inference on \(model) (\(planText), \(template.precision) activations): \(prompts.count) prompts, "
                + "\(generatedTokens) tokens generated"
        ]
        var rows = [["#", "prompt tokens", "generated", "end", "text"]]
        for result in finished {
            let preview = result.text.replacingOccurrences(of: "\n", with: " ")
            rows.append([
                String(result.index), String(result.promptTokenCount), String(result.tokens.count),
                result.stoppedAtEndOfSequence ? "stop" : "length",
                preview.count > 60 ? String(preview.prefix(57)) + "..." : preview,
            ])
        }
        lines += EvoPressReport.align(rows)
        lines.append(
            String(
                format:
                    "throughput: %.1f generated tokens/s over %.1f s of wall clock (first task start to last finish)",
                wall > 0 ? Double(generatedTokens) / wall : 0, wall))
        return lines.joined(separator: "\n")
    }
}
