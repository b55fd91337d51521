import ElideEngine
import ElideSearch
import ElideSupport
import Foundation
import Testing

@testable import ElideCluster

/// A stand-in for the `evopress` executor with a made-up but deterministic model: each dropped sub-block adds
/// a fixed KL per token, plus a pairwise interaction, so the driver's bookkeeping can be tested without the
/// engine. Start and finish times are constants, so whole reports can be compared.
enum FakeEvoPressWorker {
    static let layers = 30
    static let calibrationSequences = 40

    static func output(for payload: [UInt8], densePerplexity: Double = 20) throws -> [UInt8] {
        let task = try EvoPressTask.decode(payload)
        var output = EvoPressTaskOutput(startedAt: 100, finishedAt: 101)
        switch task.work {
        case .heldOut(let plan, let windows):
            let context = task.environment.sequenceLength
            let total = task.environment.evaluationTokens
            let scored = windows.reduce(0) { sum, window in
                sum + min(context, total - window * context) - 1
            }
            let perplexity = plan.map { densePerplexity * exp(divergence(of: $0, sequence: 0)) } ?? densePerplexity
            output.negativeLogLikelihoodSum = log(perplexity) * Double(scored)
            output.scoredTokens = scored
            if plan == nil {
                output.facts = ModelFacts(
                    layerCount: layers, calibrationSequenceCount: calibrationSequences,
                    tokenizer: "gpt2/smollm with 49152 tokens", evaluationDocuments: task.environment.evaluationPaths)
            }
        case .boundaryStatistics(let sequenceIDs, _, let pairs):
            output.statistics = pairs.map { pair in
                let value = 0.1 + 0.01 * Double((pair.from * 7 + pair.to * 3 + sequenceIDs[0]) % 17)
                return BoundaryStatistics(pair: pair, influence: value, angularDistance: value / 2)
            }
        case .divergence(let plan, let sequenceIDs, let tokens):
            output.divergences = sequenceIDs.map { id in
                SequenceKL(
                    sequenceID: id, klSum: divergence(of: plan, sequence: id) * Double(tokens - 1),
                    tokenCount: tokens - 1)
            }
        }
        return try output.encoded()
    }

    /// KL per token: a cost per dropped sub-block, a penalty for dropping both halves of a layer and a small
    /// dependence on the sequence.
    static func divergence(of plan: CompressionPlan, sequence: Int) -> Double {
        let attention = plan.attentionDropped.reduce(0.0) { $0 + 0.05 + 0.01 * Double(($1 * 7) % 13) }
        let mlp = plan.mlpDropped.reduce(0.0) { $0 + 0.08 + 0.01 * Double(($1 * 5) % 11) }
        let both = Set(plan.attentionDropped).intersection(plan.mlpDropped).count
        return (attention + mlp + 0.03 * Double(both)) * (1 + 0.01 * Double(sequence % 3))
    }
}

/// The outcome of driving an `evopress` driver to its report.
struct DrivenJob {
    var report: JobReport
    var tasks: [TaskRequest]
}

/// Runs a driver, completing its outstanding tasks in an order drawn from `orderSeed`.
func driveEvoPress(_ spec: JobSpec, orderSeed: UInt64, densePerplexity: Double = 20) throws -> DrivenJob {
    var driver = try JobKindRegistry.builtin.makeDriver(for: spec)
    var queue = try driver.start().newTasks
    var all = queue
    var generator = SeededGenerator(seed: orderSeed)
    while !queue.isEmpty {
        let task = queue.remove(at: Int(generator.next() % UInt64(queue.count)))
        let output = try FakeEvoPressWorker.output(for: task.payload, densePerplexity: densePerplexity)
        let step = try driver.handle(taskIndex: task.index, output: output)
        queue += step.newTasks
        all += step.newTasks
        if let report = step.report {
            #expect(queue.isEmpty, "the report came while \(queue.count) tasks were outstanding")
            return DrivenJob(report: report, tasks: all)
        }
    }
    throw TestFailure("the driver ran out of tasks without a report")
}

@Suite struct EvoPressDriverTests {
    static let options = [
        "model": "/models/fake.gguf", "calibration": "/texts/a.txt,/texts/b.txt", "eval": "/texts/held-out.txt",
        "schedule": "offspring=6,stage=2x64,stage=1x128,initial=6x64", "generations": "4", "sequence-length": "64",
        "calibration-sequences": "6", "eval-tokens": "300", "random-candidates": "5",
    ]

    @Test func reportIgnoresResultOrder() throws {
        let spec = JobSpec(kind: "evopress", seed: 11, options: Self.options)
        let reference = try driveEvoPress(spec, orderSeed: 1)
        for orderSeed: UInt64 in [2, 3, 4] {
            let other = try driveEvoPress(spec, orderSeed: orderSeed)
            #expect(other.report == reference.report, "order seed \(orderSeed)")
        }
        let generations = try #require(reference.report.values["generations"])
        guard case .array(let records) = generations else {
            Issue.record("generations is not an array: \(generations)")
            return
        }
        #expect(records.count == 5)
    }

    @Test func everyDivergenceKeyIsSentOnce() throws {
        let spec = JobSpec(kind: "evopress", seed: 3, options: Self.options)
        let job = try driveEvoPress(spec, orderSeed: 9)
        var seen = Set<String>()
        for task in job.tasks {
            let decoded = try EvoPressTask.decode(task.payload)
            guard case .divergence(let plan, let ids, let tokens) = decoded.work else { continue }
            let key = "\(plan.attentionDropped) \(plan.mlpDropped) \(ids) \(tokens)"
            #expect(seen.insert(key).inserted, "sent twice: \(key)")
        }
        #expect(seen.count > 20)
    }

    @Test func reportHasRequiredFields() throws {
        let spec = JobSpec(kind: "evopress", seed: 5, options: Self.options)
        let report = try driveEvoPress(spec, orderSeed: 1).report
        for key in ["heldout_perplexity", "plan", "generations", "timings", "teacher", "plot_svg"] {
            #expect(report.values[key] != nil, "missing \(key)")
        }
        guard case .object(let perplexities)? = report.values["heldout_perplexity"] else {
            Issue.record("heldout_perplexity is not an object")
            return
        }
        #expect(Set(perplexities.keys) == ["dense", "evopress", "shortgpt", "window", "random"])
        guard case .number(let dense)? = perplexities["dense"] else {
            Issue.record("the dense perplexity is not a number")
            return
        }
        #expect(abs(dense - 20) < 1e-9)
        #expect(report.values["teacher"] == .string("fp16 exact"))
        guard case .object(let plan)? = report.values["plan"], case .array(let attention)? = plan["attention_dropped"]
        else {
            Issue.record("plan has no attention_dropped list")
            return
        }
        #expect(attention.count == 8)
        #expect(report.summary.contains("EvoPress"))
        #expect(report.summary.contains("random-5"))
    }

    @Test func searchFindsFakeOptimumWithBruteForce() throws {
        // Whole blocks of the first 10 layers with 3 dropped: 120 configurations, and a minibatch that is the
        // whole pool, so every search scores on the same tokens.
        var options = Self.options
        options["unit"] = "block"
        options["drop"] = "3"
        options["search-layers"] = "10"
        options["brute-force"] = "true"
        options["calibration-sequences"] = "2"
        options["schedule"] = "offspring=8,stage=1x128,initial=8x128"
        options["generations"] = "auto"
        let job = try driveEvoPress(JobSpec(kind: "evopress", seed: 2, options: options), orderSeed: 4)
        guard case .object(let bruteForce)? = job.report.values["brute_force"] else {
            Issue.record("the report has no brute_force object")
            return
        }
        #expect(bruteForce["configurations"] == .number(120))
        #expect(bruteForce["evopress_rank"] == .number(1))
        #expect(job.report.values["plan"] == bruteForce["optimum_plan"])
        // The exhaustive batch runs first, so EvoPress and the random baseline need no divergence task of
        // their own: 120 configurations × 2 sequences.
        let divergenceTasks = try job.tasks.filter {
            if case .divergence = try EvoPressTask.decode($0.payload).work { return true }
            return false
        }
        #expect(divergenceTasks.count == 240)
    }

    @Test func absurdDensePerplexityFailsJob() throws {
        let spec = JobSpec(kind: "evopress", seed: 1, options: Self.options)
        #expect {
            _ = try driveEvoPress(spec, orderSeed: 1, densePerplexity: 49_152)
        } throws: { error in
            let text = "\(error)"
            return text.contains("dense model check failed") && text.contains("/models/fake.gguf")
                && text.contains("gpt2/smollm") && text.contains("/texts/held-out.txt")
        }
    }

    @Test func invalidOptionsAreRejectedWithTheirName() throws {
        let cases: [(String, String)] = [
            ("unit", "layer"), ("schedule", "offspring=0,stage=1x64"), ("drop", "half"), ("teacher", "top-k:1"),
            ("generations", "0"), ("threads", "0"), ("calibration", " , "),
        ]
        for (name, value) in cases {
            var options = Self.options
            options[name] = value
            #expect(throws: JobDriverError.self, "--\(name) \(value)") {
                _ = try JobKindRegistry.builtin.makeDriver(for: JobSpec(kind: "evopress", seed: 1, options: options))
            }
            do {
                _ = try JobKindRegistry.builtin.makeDriver(for: JobSpec(kind: "evopress", seed: 1, options: options))
            } catch {
                #expect("\(error)".contains("--\(name)"), "message for --\(name) \(value): \(error)")
            }
        }
    }

    @Test func heldOutWindowsCoverEveryPrediction() throws {
        var options = Self.options
        options["eval-windows-per-task"] = "2"
        let driver = try EvoPressDriver(spec: JobSpec(kind: "evopress", seed: 1, options: options))
        // 300 tokens in windows of 64: starts 0, 64, 128, 192, 256, the last holding 44 tokens.
        #expect(driver.heldOutWindowCount == 5)
        var copy = driver
        let tasks = try copy.start().newTasks
        let ranges = try tasks.map { task -> Range<Int> in
            guard case .heldOut(nil, let windows) = try EvoPressTask.decode(task.payload).work else {
                throw TestFailure("the first tasks must be dense held-out tasks")
            }
            return windows
        }
        #expect(ranges == [0..<2, 2..<4, 4..<5])
    }
}
