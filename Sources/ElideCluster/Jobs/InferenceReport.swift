import ElideModels
import Foundation

/// The report of an `inference` job, the same for both ways of sharding: with equal results, the
/// `results` and `results_jsonl` values are byte-identical.
enum InferenceReport {
    /// Builds the report from every prompt's result (in prompt order).
    /// - Parameters:
    ///   - wall: seconds from the first task's start to the last task's finish, worker clocks.
    ///   - timings: figures added to the report's `timings` object besides the common ones.
    ///   - shard: a short description of the sharding for the summary line.
    static func make(
        prompts: [InferencePrompt], results finished: [InferenceResult], template: InferenceTask, wall: Double,
        timings extraTimings: [String: JSONValue] = [:], shard: String
    ) throws -> JobReport {
        let generatedTokens = finished.reduce(0) { $0 + $1.tokens.count }
        var lines: [String] = []
        var objects: [JSONValue] = []
        var skips = FeedForwardSkipCount()
        for (result, prompt) in zip(finished, prompts) {
            var fields: [String: JSONValue] = [
                "index": .number(Double(result.index)), "prompt": .string(prompt.text), "text": .string(result.text),
                "tokens": .array(result.tokens.map { .number(Double($0)) }),
                "prompt_tokens": .number(Double(result.promptTokenCount)),
                "stopped_at_end_of_sequence": .bool(result.stoppedAtEndOfSequence),
            ]
            if let count = result.feedForwardSkipCount {
                fields["ffn_skipped"] = .number(Double(count.skipped))
                fields["ffn_considered"] = .number(Double(count.considered))
                skips.skipped += count.skipped
                skips.considered += count.considered
            }
            let object: JSONValue = .object(fields)
            objects.append(object)
            lines.append(String(decoding: try EvoPressCoding.encoder.encode(object), as: UTF8.self))
        }
        let decodeSeconds = finished.reduce(0) { $0 + $1.decodeSeconds }
        let prefillSeconds = finished.reduce(0) { $0 + $1.prefillSeconds }
        var timings: [String: JSONValue] = [
            "wall_seconds": .number(wall), "generated_tokens": .number(Double(generatedTokens)),
            "tokens_per_second": .number(wall > 0 ? Double(generatedTokens) / wall : 0),
            "prefill_seconds": .number(prefillSeconds), "decode_seconds": .number(decodeSeconds),
        ]
        timings.merge(extraTimings) { $1 }
        var skipLine: String?
        if template.skipPolicyJSON != nil {
            timings["ffn_skip_ratio"] = .number(skips.ratio)
            skipLine = String(
                format: "FFN skipping: %d of %d FFN blocks skipped in the decode steps after the warm-up (ratio %.3f)",
                skips.skipped, skips.considered, skips.ratio)
        }
        var policy: JSONValue = .null
        if let json = template.skipPolicyJSON {
            policy = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        }
        let values: [String: JSONValue] = [
            "ffn_skip_policy": policy,
            "results": .array(objects),
            "results_jsonl": .string(lines.joined(separator: "\n") + "\n"),
            "plan": template.plan.map { plan in
                .object([
                    "layers": .number(Double(plan.layers)),
                    "attention_dropped": .array(plan.attentionDropped.map { .number(Double($0)) }),
                    "mlp_dropped": .array(plan.mlpDropped.map { .number(Double($0)) }),
                ])
            } ?? .null,
            "timings": .object(timings),
        ]
        var summary = summary(
            prompts: prompts, results: finished, template: template, generatedTokens: generatedTokens, wall: wall,
            shard: shard)
        if let skipLine { summary += "\n" + skipLine }
        return JobReport(summary: summary, values: values)
    }

    private static func summary(
        prompts: [InferencePrompt], results finished: [InferenceResult], template: InferenceTask,
        generatedTokens: Int, wall: Double, shard: String
    ) -> String {
        let model = (template.modelPath as NSString).lastPathComponent
        var planText = template.plan.map { "plan dropping \($0.droppedCount) sub-blocks" } ?? "no plan"
        if template.skipPolicyJSON != nil { planText += ", FFN skipping" }
        var lines = [
            "Inference on \(model) (\(planText), \(template.precision) activations, \(shard)): \(prompts.count) "
                + "prompts, \(generatedTokens) tokens generated"
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
