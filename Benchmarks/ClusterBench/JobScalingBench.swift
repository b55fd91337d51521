import ElideCluster
import ElideSupport
import Foundation

/// Wall time of one real job on 1, 2 … worker processes of one slot each, for the speedup of more workers:
/// an `evopress` search or an `inference` batch of prompts. Each worker count gets a fresh cluster, and the
/// runs of one repetition alternate between the counts' clusters, so load changes hit them alike.
struct JobScalingBench {
    enum Job: String {
        case evoPress = "evopress"
        case inference
    }

    let options: BenchOptions
    let job: Job

    func run() throws {
        let spec = try makeSpec()
        var clusters: [(Int, BenchCluster)] = []
        defer { for (_, cluster) in clusters { cluster.stop() } }
        for workerCount in options.workerCounts {
            let cluster = try BenchCluster(binaryFolder: options.binaryFolder)
            clusters.append((workerCount, cluster))
            try cluster.startCoordinator()
            for index in 0..<workerCount {
                try cluster.startWorker(index, slots: 1)
            }
            try cluster.waitForWorkers(workerCount)
        }
        for repetition in 1...options.repetitions {
            for (workerCount, cluster) in clusters {
                BenchLog.info("\(job.rawValue): repetition \(repetition) on \(workerCount) worker(s)")
                let start = MonotonicClock.now()
                let status = try runJob(spec, on: cluster)
                let seconds = MonotonicClock.seconds(since: start)
                var record = BenchRecord(test: "\(job.rawValue)_scaling")
                record["workers"] = .integer(workerCount)
                record["repetition"] = .integer(repetition)
                record["seconds"] = .number(seconds)
                record["tasks"] = .integer(status.tasksDone)
                record["retries"] = .integer(status.retries)
                addDetails(status.report, to: &record)
                record.print()
            }
        }
    }

    private func makeSpec() throws -> JobSpec {
        switch job {
        case .evoPress:
            return JobSpec(
                kind: "evopress", seed: 1,
                options: [
                    "model": options.model, "drop": "0.25", "schedule": "fast",
                    "generations": String(options.evoPressGenerations), "eval-tokens": "1024", "threads": "1",
                ])
        case .inference:
            let file = try Self.inferencePromptsFile(count: options.prompts)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let spec = JobSpec(
                kind: "inference", seed: 1,
                options: [
                    "model": options.model, "prompts": file, "max-tokens": String(options.maxTokens), "threads": "1",
                ])
            // !-safe: the inference kind reads its prompts file before submission.
            return try InferenceJob.kind.prepare!(spec)
        }
    }

    /// Writes a prompts file of `count` lines, the starts of consecutive 400-character pieces of the held-out
    /// text, and returns its path; the caller removes it.
    static func inferencePromptsFile(count: Int) throws -> String {
        let source = BenchOptions.elideHome + "/text/austen/pride-and-prejudice.txt"
        let text = try String(contentsOfFile: source, encoding: .utf8)
        let characters = Array(text)
        var lines: [String] = []
        var offset = 0
        while lines.count < count, offset + 200 <= characters.count {
            let piece = String(characters[offset..<offset + 200]).replacingOccurrences(of: "\n", with: " ")
            lines.append(String(decoding: try JSONEncoder().encode(piece), as: UTF8.self))
            offset += 400
        }
        guard lines.count == count else {
            throw BenchFailure("\(source) contains only \(lines.count) prompts of 200 characters; lower --prompts")
        }
        let file = NSTemporaryDirectory() + "elide-bench-prompts-\(getpid()).jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    private func runJob(_ spec: JobSpec, on cluster: BenchCluster) throws -> JobStatus {
        let client = try cluster.client()
        let id = try client.submit(spec)
        let start = MonotonicClock.now()
        var status = try client.wait(id, timeout: .seconds(60))
        while !status.state.isFinished {
            guard MonotonicClock.seconds(since: start) < 7200 else {
                throw BenchFailure("job \(id) did not finish in 2 hours")
            }
            status = try client.wait(id, timeout: .seconds(60))
        }
        guard status.state == .succeeded else {
            throw BenchFailure(
                "job \(id) ended \(status.state.rawValue): \(status.failure ?? "no message"); coordinator log:\n"
                    + cluster.log("coordinator"))
        }
        return try client.result(id)
    }

    /// Adds the report's figures: search and evaluation seconds for `evopress`, tokens for `inference`.
    private func addDetails(_ report: JobReport?, to record: inout BenchRecord) {
        guard case .object(let timings)? = report?.values["timings"] else { return }
        func number(_ value: JSONValue?) -> Double? {
            if case .number(let number)? = value { return number }
            return nil
        }
        switch job {
        case .evoPress:
            if case .array(let generations)? = timings["generation_seconds"] {
                record["search_seconds"] = .number(generations.compactMap(number).reduce(0, +))
            }
            for stage in ["dense_check", "baseline_statistics", "evopress", "random", "heldout"] {
                if let seconds = number(timings[stage]) { record["\(stage)_seconds"] = .number(seconds) }
            }
        case .inference:
            if let tokens = number(timings["generated_tokens"]) {
                record["generated_tokens"] = .integer(Int(tokens))
                if let seconds = record["seconds"], case .number(let wall) = seconds {
                    record["tokens_per_second"] = .number(tokens / wall)
                }
            }
        }
    }
}
