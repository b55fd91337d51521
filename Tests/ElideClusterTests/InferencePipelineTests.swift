import ElideEngine
import ElideFormats
import ElideModels
import ElideTensor
import Foundation
import Testing

@testable import ElideCluster

/// `inference --shard layers` on SmolLM2-135M in this process: the pipeline's tokens equal request
/// sharding's and direct generation's, with and without a plan, for 2 and 3 stages, and after a stage's
/// worker is replaced mid-job.
@Suite(.serialized)
struct InferencePipelineTests {
    static let prompts = InferenceJobTests.prompts

    static func spec(
        _ prompts: [InferencePromptEntry] = prompts, options: [String: String] = [:], plan: CompressionPlan? = nil
    ) throws -> JobSpec {
        try InferenceJobTests.spec(prompts, options: options, plan: plan)
    }

    static func layers(_ stages: Int, _ extra: [String: String] = [:]) -> [String: String] {
        ["shard": "layers", "stages": String(stages)].merging(extra) { $1 }
    }

    static func jsonl(_ report: JobReport) throws -> String {
        guard case .string(let text) = report.values["results_jsonl"] else { throw TestFailure("no results_jsonl") }
        return text
    }

    static func timing(_ report: JobReport, _ name: String) -> Double? {
        guard case .object(let timings) = report.values["timings"], case .number(let value) = timings[name] else {
            return nil
        }
        return value
    }

    // MARK: - Pure parts

    @Test func stageLayersAreContiguousAndNearEqual() {
        func ranges(_ stages: Int, _ layers: Int) -> [Range<Int>] {
            (0..<stages).map { InferencePipeline.layers(stage: $0, of: stages, layerCount: layers) }
        }
        #expect(ranges(2, 30) == [0..<15, 15..<30])
        #expect(ranges(3, 30) == [0..<10, 10..<20, 20..<30])
        #expect(ranges(4, 30) == [0..<8, 8..<16, 16..<23, 23..<30])
        #expect(ranges(1, 30) == [0..<30])
        #expect(ranges(30, 30).allSatisfy { $0.count == 1 })
    }

    @Test func stageMaskDropsOtherLayersAndKeepsPlanDrops() {
        let plan = CompressionPlan(layers: 6, attentionDropped: [1, 4], mlpDropped: [2])
        let mask = InferencePipeline.stageMask(plan.mask, layers: 2..<5, layerCount: 6)
        #expect(mask.attentionKept == [false, false, true, true, false, false])
        #expect(mask.mlpKept == [false, false, false, true, true, false])
        let dense = InferencePipeline.stageMask(nil, layers: 0..<3, layerCount: 6)
        #expect(dense.attentionKept == [true, true, true, false, false, false])
        #expect(dense.mlpKept == dense.attentionKept)
    }

    @Test func sessionStoreKeepsNewestEpochAndEvictsLeastRecentlyUsed() throws {
        let store = StageSessionStore(capacity: 2, idleSeconds: 100)
        func key(_ prompt: Int) -> StageSessionStore.Key {
            StageSessionStore.Key(job: JobID(1), specDigest: "d", prompt: prompt, stage: 0)
        }
        #expect(store.entry(key(0), epoch: 0, create: false, now: 0) == nil, "only a prompt task creates")
        let first = try #require(store.entry(key(0), epoch: 0, create: true, now: 0))
        #expect(store.entry(key(0), epoch: 0, create: false, now: 1) === first)

        // A newer epoch replaces the entry, and the older epoch is stale from then on.
        let newer = try #require(store.entry(key(0), epoch: 1, create: true, now: 2))
        #expect(newer !== first)
        #expect(store.entry(key(0), epoch: 0, create: true, now: 3) == nil)

        // A third key evicts the least recently used of the two.
        _ = store.entry(key(1), epoch: 0, create: true, now: 4)
        _ = store.entry(key(0), epoch: 1, create: false, now: 5)
        _ = store.entry(key(2), epoch: 0, create: true, now: 6)
        #expect(store.count == 2)
        #expect(store.entry(key(1), epoch: 0, create: false, now: 7) == nil)
        #expect(store.entry(key(0), epoch: 1, create: false, now: 8) === newer)

        // Release drops only its own epoch; idle entries go on the next access.
        store.release(key(0), epoch: 0)
        #expect(store.entry(key(0), epoch: 1, create: false, now: 9) === newer)
        store.release(key(0), epoch: 1)
        #expect(store.entry(key(0), epoch: 1, create: false, now: 10) == nil)
        #expect(store.entry(key(2), epoch: 0, create: false, now: 200) == nil)
        #expect(store.count == 0)
    }

    @Test func layerShardingRejectsSamplingAndOversizedPipelines() throws {
        let sampled = try Self.spec(options: Self.layers(2, ["temperature": "0.7"]))
        #expect(throws: JobDriverError.self) { try InferenceJob.makeDriver(sampled) }
        do {
            _ = try InferenceJob.makeDriver(sampled)
        } catch let error as JobDriverError {
            #expect(error.message.contains("--shard requests"))
        }
        let oversized = try Self.spec(options: Self.layers(30, ["pipeline-prompts": "4"]))
        #expect(throws: JobDriverError.self) { try InferenceJob.makeDriver(oversized) }
        let plan = CompressionPlan(layers: 30)
        let tooManyStages = try Self.spec(options: Self.layers(31, ["pipeline-prompts": "1"]), plan: plan)
        #expect(throws: JobDriverError.self) { try InferenceJob.makeDriver(tooManyStages) }
        let fine = try InferenceJob.makeDriver(try Self.spec(options: Self.layers(3)))
        #expect(fine is InferencePipelineDriver)
    }

    @Test func firstTasksAreStageZeroPromptsWithAffinity() throws {
        var driver = try InferencePipelineDriver(
            settings: InferenceSettings(spec: try Self.spec(options: Self.layers(2, ["pipeline-prompts": "2"]))))
        let step = try driver.start()
        #expect(step.newTasks.count == 2)
        #expect(step.newTasks.allSatisfy { $0.affinity == "stage-0" })
        let payload = try InferenceStageTask.decode(try #require(step.newTasks.first).payload)
        #expect(payload.stage == 0)
        #expect(payload.position == 0)
        #expect(payload.input == .prompt(text: Self.prompts[0].prompt, chat: false))
    }

    // MARK: - Against the model

    /// The claim the pipeline rests on: stage sessions split as local generation does reproduce its logits
    /// bit for bit, also for a prompt longer than one 512-row chunk.
    @Test func stageSessionsReproduceFullForwardLogits() throws {
        try EvoPressAssets.requireAll()
        let file = try GGUFFile(path: EvoPressAssets.model)
        let model = try LlamaModel(file: file)
        let tokenizer = try BPETokenizer(gguf: file)
        let text = try String(contentsOfFile: EvoPressAssets.texts + "/pride-and-prejudice.txt", encoding: .utf8)
        let tokens = Array(tokenizer.encode(String(text.prefix(4_000))).prefix(600))
        #expect(tokens.count == 600)
        let layerCount = model.configuration.blockCount
        let width = model.configuration.embeddingLength
        let plan = CompressionPlan(layers: layerCount, attentionDropped: [3, 20], mlpDropped: [16])

        for mask in [nil, plan.mask] {
            // The full model: prefill (two chunks, 512 + 88 rows), then one decode step.
            let capacity = tokens.count + 2
            let full = LlamaSession(model: model, capacity: capacity, mask: mask, pool: ThreadPool(threads: 1))
            var expected: [[Float]] = []
            full.forward(tokens, logits: .last, onLogits: { _, logits in expected.append(Array(logits)) })
            let next = expected[0].withUnsafeBufferPointer { TokenSampler.argmax($0) }
            full.forward([next], logits: .last, onLogits: { _, logits in expected.append(Array(logits)) })

            // The same two steps through three stage sessions.
            let stages = 3
            let ranges = (0..<stages).map { InferencePipeline.layers(stage: $0, of: stages, layerCount: layerCount) }
            let sessions = ranges.map { layers in
                LlamaSession(
                    model: model, capacity: capacity,
                    mask: InferencePipeline.stageMask(mask, layers: layers, layerCount: layerCount),
                    pool: ThreadPool(threads: 1))
            }
            var actual: [[Float]] = []
            for input in [tokens, [next]] {
                var rows: [Float] = []
                let collect: HiddenStateObserver = { _, point, states, _ in
                    if point == .finalOutput { rows.append(contentsOf: states) }
                }
                sessions[0].forward(input, logits: .none, observer: collect)
                for stage in 1..<stages {
                    let states = rows
                    rows = []
                    let isLast = stage == stages - 1
                    states.withUnsafeBufferPointer { states in
                        sessions[stage].forward(
                            resumingAt: SubBlockBoundary(index: 2 * ranges[stage].lowerBound),
                            states: states.baseAddress!, count: states.count / width, logits: isLast ? .last : .none,
                            observer: isLast ? nil : collect
                        ) { _, logits in actual.append(Array(logits)) }
                    }
                }
            }
            #expect(actual.count == 2)
            #expect(actual == expected, "stage-split logits differ from the full forward pass (plan: \(mask != nil))")
        }
    }

    @Test func pipelineMatchesRequestShardingAndDirectGeneration() throws {
        try EvoPressAssets.requireAll()
        let expected = try Self.prompts.map { try InferenceJobTests.direct($0, maxTokens: 10) }
        let requests = try LocalJobRunner.run(try Self.spec())
        #expect(try InferenceJobTests.tokens(requests) == expected)
        for stages in [2, 3] {
            let report = try LocalJobRunner.run(try Self.spec(options: Self.layers(stages)))
            #expect(try InferenceJobTests.tokens(report) == expected, "\(stages) stages")
            #expect(try Self.jsonl(report) == (try Self.jsonl(requests)), "\(stages) stages")
            #expect(Self.timing(report, "restarts") == 0)
            #expect(Self.timing(report, "stages") == Double(stages))
        }
    }

    @Test func pipelineAppliesPlanLikeTheSessionMask() throws {
        try EvoPressAssets.requireAll()
        let plan = CompressionPlan(layers: 30, attentionDropped: [5, 20], mlpDropped: [12, 27])
        let prompts = Array(Self.prompts.prefix(2))
        let expected = try prompts.map { try InferenceJobTests.direct($0, maxTokens: 10, mask: plan.mask) }
        let requests = try LocalJobRunner.run(try Self.spec(prompts, plan: plan))
        for stages in [2, 3] {
            let report = try LocalJobRunner.run(
                try Self.spec(prompts, options: Self.layers(stages, ["pipeline-prompts": "1"]), plan: plan))
            #expect(try InferenceJobTests.tokens(report) == expected, "\(stages) stages")
            #expect(try Self.jsonl(report) == (try Self.jsonl(requests)), "\(stages) stages")
        }
    }

    @Test func longPromptSpansTwoPrefillChunks() throws {
        try EvoPressAssets.requireAll()
        let text = try String(contentsOfFile: EvoPressAssets.texts + "/pride-and-prejudice.txt", encoding: .utf8)
        let entry = InferencePromptEntry(prompt: String(text.prefix(3_000)), maxTokens: 4)
        let expected = try InferenceJobTests.direct(entry, maxTokens: 4)
        let report = try LocalJobRunner.run(try Self.spec([entry], options: Self.layers(2)))
        guard case .array(let results) = report.values["results"], case .object(let first)? = results.first,
            case .number(let promptTokens)? = first["prompt_tokens"]
        else { throw TestFailure("no prompt_tokens in \(report.values["results"] ?? .null)") }
        #expect(promptTokens > 512, "the prompt should need two prefill chunks")
        #expect(try InferenceJobTests.tokens(report) == [expected])
    }

    /// A stage's worker replaced mid-job: the new owner lacks the sessions, the prompts start over, and the
    /// output is the same.
    @Test func replacedStageWorkerRestartsPromptsWithSameOutput() throws {
        try EvoPressAssets.requireAll()
        let spec = try Self.spec(options: Self.layers(2, ["pipeline-prompts": "3", "max-tokens": "8"]))
        let reference = try LocalJobRunner.run(try Self.spec(options: ["max-tokens": "8"]))

        var core = CoordinatorCore(registry: .builtin, journal: MemoryJournal(), logger: LogCapture().logger())
        var stores: [WorkerID: StageSessionStore] = [:]
        var pending: [CoordinatorDirective] = []
        func register(_ name: String) -> WorkerID {
            let registration = WorkerRegistration(name: name, address: "in-process", processID: 1, slots: 1)
            let (id, directives) = core.registerWorker(registration, now: .now())
            stores[id] = StageSessionStore(capacity: StageSessionStore.defaultCapacity)
            pending += directives
            return id
        }
        let (job, submitted) = try core.submit(spec, wallTime: wallClockSeconds())
        pending += submitted
        _ = register("a")
        _ = register("b")

        var results = 0
        var replaced = false
        while !pending.isEmpty {
            let directive = pending.removeFirst()
            guard case .assign(let assignment, let worker) = directive, stores[worker] != nil else { continue }
            let context = TaskContext(
                task: assignment.attempt, isCancelled: { false },
                artifactPath: { _ in throw JobDriverError("no artifacts in tests") })
            // !-safe: checked by the guard above.
            let executor = InferenceStageExecutor(store: stores[worker]!)
            let output = try executor.execute(payload: assignment.payload, seed: assignment.seed, context: context)
            pending += try core.taskSucceeded(
                assignment.attempt, worker: worker, output: output, now: .now(), wallTime: wallClockSeconds())
            results += 1
            if results == 12, !replaced {
                let owner = try #require(core.scheduler.affinityOwner(job: job, key: "stage-1"))
                stores[owner] = nil
                pending += try core.workerLost(owner, reason: "test", now: .now(), wallTime: wallClockSeconds())
                _ = register("c")
                replaced = true
            }
        }
        let entry = try #require(core.jobs[job])
        #expect(entry.state == .succeeded, "\(entry.failure ?? "")")
        let report = try #require(entry.report)
        #expect(try Self.jsonl(report) == (try Self.jsonl(reference)))
        #expect((Self.timing(report, "restarts") ?? 0) >= 1, "no prompt started over after the stage moved")
        // Prompts that ended by length dropped their sessions; those that met a stop token keep them.
        guard case .array(let results) = report.values["results"] else { throw TestFailure("no results") }
        let stopped = results.filter {
            if case .object(let fields) = $0, case .bool(true) = fields["stopped_at_end_of_sequence"] { return true }
            return false
        }
        for store in stores.values {
            #expect(store.count <= stopped.count, "stage sessions of finished prompts were kept")
        }
    }
}
