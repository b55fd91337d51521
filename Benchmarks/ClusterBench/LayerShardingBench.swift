import ElideCluster
import ElideSupport
import Foundation

/// The per-token cost of the pipeline hops of `inference --shard layers`: decode seconds per token through
/// a pipeline of S stages on S worker processes, minus decode seconds per token of whole-prompt generation
/// on one worker, on the same prompts. Also the throughput of both modes and each worker's resident memory.
///
/// Each stage count gets two fresh clusters of S one-slot workers, one per mode, so each worker's memory
/// shows what its mode touched. Per repetition:
/// - requests: one task runs every prompt in turn, so one worker decodes alone, without hops
///   (`prompts-per-task` = the prompt count). Its tasks time the decode steps.
/// - layers, one prompt at a time (`pipeline-prompts` 1): each token crosses the S stages while the other
///   workers idle, so the decode wall time per step is compute plus S task round trips through the
///   coordinator.
/// - layers with `--pipeline-prompts` prompts at once, for throughput.
struct LayerShardingBench {
    let options: BenchOptions

    func run() throws {
        let prompts = try JobScalingBench.inferencePromptsFile(count: options.prompts)
        defer { try? FileManager.default.removeItem(atPath: prompts) }
        for stages in options.stageCounts {
            let requestsCluster = try startCluster(workers: stages)
            defer { requestsCluster.stop() }
            let layersCluster = try startCluster(workers: stages)
            defer { layersCluster.stop() }
            for repetition in 1...options.repetitions {
                BenchLog.info("layer sharding: repetition \(repetition) with \(stages) stages")
                let local = try runJob(
                    prompts, ["prompts-per-task": String(options.prompts)], on: requestsCluster)
                let serial = try runJob(
                    prompts, ["shard": "layers", "stages": String(stages), "pipeline-prompts": "1"], on: layersCluster)
                let pipelined = try runJob(
                    prompts,
                    [
                        "shard": "layers", "stages": String(stages),
                        "pipeline-prompts": String(options.pipelinePrompts),
                    ], on: layersCluster)
                guard local.jsonl == serial.jsonl, local.jsonl == pipelined.jsonl else {
                    throw BenchFailure("--shard layers produced other tokens than --shard requests")
                }

                var record = BenchRecord(test: "layer_sharding")
                record["stages"] = .integer(stages)
                record["repetition"] = .integer(repetition)
                record["prompts"] = .integer(options.prompts)
                record["decode_steps"] = .integer(local.decodeSteps)
                let localPerToken = local.decodeSeconds / Double(max(local.decodeSteps, 1))
                let pipelinePerToken = serial.decodeWallSeconds / Double(max(serial.decodeSteps, 1))
                record["local_decode_ms_per_token"] = .number(localPerToken * 1000)
                record["pipeline_decode_ms_per_token"] = .number(pipelinePerToken * 1000)
                record["pipeline_compute_ms_per_token"] =
                    .number(serial.decodeSeconds / Double(max(serial.decodeSteps, 1)) * 1000)
                record["hop_ms_per_token"] = .number((pipelinePerToken - localPerToken) * 1000)
                // The same cost measured inside the pipeline run alone, so that it does not depend on load
                // changes between the two runs: decode wall time outside the stages' forward passes.
                let overheadPerToken =
                    (serial.decodeWallSeconds - serial.decodeSeconds) / Double(max(serial.decodeSteps, 1))
                record["overhead_ms_per_token"] = .number(overheadPerToken * 1000)
                record["overhead_ms_per_stage_hop"] = .number(overheadPerToken * 1000 / Double(stages))
                record["requests_tokens_per_second"] = .number(local.tokensPerSecond)
                record["pipeline_tokens_per_second"] = .number(pipelined.tokensPerSecond)
                record["pipeline_prompts"] = .integer(options.pipelinePrompts)
                record["restarts"] = .integer(serial.restarts + pipelined.restarts)
                for (index, memory) in layersCluster.workerMemory().enumerated() {
                    record["stage_worker\(index)_rss_mib"] = .number(memory.residentMiB)
                    record["stage_worker\(index)_rss_file_mib"] = .number(memory.fileMiB)
                }
                // Only the worker that ran the one requests task loaded the model's pages.
                if let memory = requestsCluster.workerMemory().max(by: { $0.residentMiB < $1.residentMiB }) {
                    record["requests_worker_rss_mib"] = .number(memory.residentMiB)
                    record["requests_worker_rss_file_mib"] = .number(memory.fileMiB)
                }
                record.print()
            }
        }
    }

    private func startCluster(workers: Int) throws -> BenchCluster {
        let cluster = try BenchCluster(binaryFolder: options.binaryFolder)
        try cluster.startCoordinator()
        for index in 0..<workers {
            try cluster.startWorker(index, slots: 1)
        }
        try cluster.waitForWorkers(workers)
        return cluster
    }

    /// Figures of one finished job, from its report.
    struct Outcome {
        var jsonl = ""
        var decodeSeconds = 0.0
        var decodeWallSeconds = 0.0
        var decodeSteps = 0
        var tokensPerSecond = 0.0
        var restarts = 0
    }

    private func runJob(_ promptsFile: String, _ extra: [String: String], on cluster: BenchCluster) throws -> Outcome {
        var values = [
            "model": options.model, "prompts": promptsFile, "max-tokens": String(options.maxTokens), "threads": "1",
        ]
        values.merge(extra) { $1 }
        // !-safe: the inference kind reads its prompts file before submission.
        let spec = try InferenceJob.kind.prepare!(JobSpec(kind: "inference", seed: 1, options: values))
        let client = try cluster.client()
        let id = try client.submit(spec)
        var status = try client.wait(id, timeout: .seconds(600))
        while !status.state.isFinished { status = try client.wait(id, timeout: .seconds(600)) }
        guard status.state == .succeeded, let report = try client.result(id).report else {
            throw BenchFailure(
                "job \(id) ended \(status.state.rawValue): \(status.failure ?? "no message"); coordinator log:\n"
                    + cluster.log("coordinator"))
        }
        return try outcome(report)
    }

    private func outcome(_ report: JobReport) throws -> Outcome {
        guard case .object(let timings)? = report.values["timings"],
            case .string(let jsonl)? = report.values["results_jsonl"],
            case .array(let results)? = report.values["results"]
        else { throw BenchFailure("the inference report has no timings or results") }
        func number(_ name: String) -> Double {
            if case .number(let value)? = timings[name] { return value }
            return 0
        }
        var result = Outcome(jsonl: jsonl)
        result.decodeSeconds = number("decode_seconds")
        result.decodeWallSeconds = number("decode_wall_seconds")
        result.tokensPerSecond = number("tokens_per_second")
        result.restarts = Int(number("restarts"))
        if case .number(let steps)? = timings["decode_steps"] {
            result.decodeSteps = Int(steps)
        } else {
            // Request sharding reports no step count: a generation decodes one step per token after the
            // first, plus one for a stop token.
            for case .object(let fields) in results {
                guard case .array(let tokens)? = fields["tokens"],
                    case .bool(let stopped)? = fields["stopped_at_end_of_sequence"]
                else { continue }
                result.decodeSteps += stopped ? tokens.count : max(tokens.count - 1, 0)
            }
        }
        return result
    }
}
