import ElideEngine
import Foundation

/// The coordinator side of `inference --shard layers`: pipeline parallelism over contiguous layer ranges.
///
/// Each prompt runs as a small state machine. Its prompt goes through stages 0 … N−1, and the last stage
/// returns the first token. Each further token goes through the stages again, until `maxTokens` tokens or
/// a stop token. A prompt has one task outstanding at a time, and `--pipeline-prompts` prompts generate at once,
/// so different stages work on different prompts in parallel. Stage s's tasks carry the affinity key
/// `stage-s`, so they go to the worker that keeps the stage's sessions. When a task reports that its
/// worker lacks the session (the worker is new to the stage), the prompt starts over at stage 0 with the
/// next epoch, and greedy decoding makes the result the same.
struct InferencePipelineDriver: JobDriver {
    /// Times a prompt may start over before the job fails; each start-over follows the loss of a stage's
    /// worker or the eviction of a session.
    static let maxRestartsPerPrompt = 8

    private struct PromptState {
        var epoch = 0
        var restarts = 0
        var facts: InferencePromptFacts?
        var generated: [Int] = []
        var text = ""
        var prefillSeconds = 0.0
        var decodeSeconds = 0.0
        /// Worker wall clock when the first decode step entered stage 0.
        var decodeStartedAt: Double?
        var decodeFinishedAt: Double?
        var decodeSteps = 0
    }

    /// The prompt, stage and position of an outstanding task.
    private struct Step {
        var prompt: Int
        var stage: Int
        var position: Int
        /// True for the steps that run the prompt itself, false for the steps of generated tokens.
        var isPrefill: Bool
        /// True when the step's token is the prompt's last by length; its stages drop their sessions.
        var isFinal: Bool
    }

    let prompts: [InferencePrompt]
    let template: InferenceTask
    let stageCount: Int
    let pipelinePrompts: Int
    let specDigest: String
    private var states: [PromptState]
    private var results: [InferenceResult?]
    private var outstanding: [UInt64: Step] = [:]
    private var nextTaskIndex: UInt64 = 0
    private var nextPrompt = 0
    private var completed = 0
    private var generatedTokens = 0
    private var restarts = 0
    private var layerCount: Int?
    private var firstStart: Double?
    private var lastFinish: Double?

    init(settings: InferenceSettings) throws {
        guard settings.shard == .layers else {
            throw JobDriverError("InferencePipelineDriver runs --shard layers; --shard requests uses InferenceDriver")
        }
        prompts = settings.prompts
        template = settings.template
        stageCount = settings.stages
        pipelinePrompts = settings.pipelinePrompts
        specDigest = settings.specDigest
        if let plan = template.plan, stageCount > plan.layers {
            throw JobDriverError(
                "--stages \(stageCount) is more than the \(plan.layers) layers of the plan's model; give at most "
                    + "\(plan.layers)")
        }
        states = Array(repeating: PromptState(), count: prompts.count)
        results = Array(repeating: nil, count: prompts.count)
    }

    mutating func start() throws -> DriverStep {
        var tasks: [TaskRequest] = []
        while nextPrompt < min(pipelinePrompts, prompts.count) {
            tasks.append(try promptTask(nextPrompt))
            nextPrompt += 1
        }
        return DriverStep(newTasks: tasks, progress: progress)
    }

    mutating func handle(taskIndex: UInt64, output: [UInt8]) throws -> DriverStep {
        guard let step = outstanding.removeValue(forKey: taskIndex) else {
            throw JobDriverError("inference job received an unexpected or repeated result for task \(taskIndex)")
        }
        let decoded = try InferenceStageOutput.decode(output, task: taskIndex)
        firstStart = min(firstStart ?? decoded.startedAt, decoded.startedAt)
        lastFinish = max(lastFinish ?? decoded.finishedAt, decoded.finishedAt)
        let index = step.prompt

        switch decoded.result {
        case .missingState:
            return DriverStep(newTasks: [try restart(index, stage: step.stage)], progress: progress)
        case .hidden(let rows, let data):
            guard step.stage < stageCount - 1 else {
                throw JobDriverError("the last stage returned hidden rows for prompt \(index) instead of a token")
            }
            try record(decoded, of: step)
            let next = try stageTask(
                index, stage: step.stage + 1, position: step.position, input: .hidden(rows: rows, data: data),
                isFinal: step.isFinal)
            return DriverStep(newTasks: [next], progress: progress)
        case .token(let next, let text):
            guard step.stage == stageCount - 1 else {
                throw JobDriverError("stage \(step.stage) returned a token for prompt \(index) instead of hidden rows")
            }
            try record(decoded, of: step)
            return try advance(index, next: next, text: text, finishedAt: decoded.finishedAt)
        }
    }

    var progress: JobProgress {
        JobProgress(
            completed: completed, total: prompts.count, detail: "prompts, \(generatedTokens) tokens generated")
    }

    // MARK: - Prompt state machine

    /// Adds a stage's timing to its prompt, and the prompt facts from stage 0's prompt task.
    private mutating func record(_ output: InferenceStageOutput, of step: Step) throws {
        if step.stage == 0 && step.isPrefill {
            guard let facts = output.facts else {
                throw JobDriverError("stage 0 returned no prompt token count for prompt \(step.prompt)")
            }
            guard stageCount <= facts.layerCount else {
                throw JobDriverError(
                    "--stages \(stageCount) is more than the model's \(facts.layerCount) layers; give at most "
                        + "\(facts.layerCount)")
            }
            states[step.prompt].facts = facts
            layerCount = facts.layerCount
        }
        if step.isPrefill {
            states[step.prompt].prefillSeconds += output.computeSeconds
        } else {
            states[step.prompt].decodeSeconds += output.computeSeconds
            if step.stage == 0, states[step.prompt].decodeStartedAt == nil {
                states[step.prompt].decodeStartedAt = output.startedAt
            }
            if step.stage == stageCount - 1 {
                states[step.prompt].decodeFinishedAt = output.finishedAt
                states[step.prompt].decodeSteps += 1
            }
        }
    }

    /// Takes the last stage's token: ends the prompt, as `TextGenerator` does, at a stop token, at
    /// `maxTokens` or at a full KV cache, and otherwise sends the token into stage 0.
    private mutating func advance(_ index: Int, next: Int, text: String, finishedAt: Double) throws -> DriverStep {
        // !-safe: the prompt's stage-0 prompt task recorded its facts before any token could come back.
        let facts = states[index].facts!
        let prompt = prompts[index]
        if facts.stopTokens.contains(next) {
            return try finish(index, stopped: true)
        }
        states[index].generated.append(next)
        states[index].text = text
        let generated = states[index].generated.count
        // The caches hold the prompt and every generated token except the newest.
        let position = facts.promptTokenCount + generated - 1
        let capacity = InferencePipeline.sessionCapacity(
            promptTokens: facts.promptTokenCount, maxTokens: prompt.maxTokens, contextLength: facts.contextLength)
        if generated == prompt.maxTokens || position >= capacity {
            return try finish(index, stopped: false)
        }
        // The step at `position` produces token `generated + 1` and fills position `position + 1`.
        let isFinal = generated + 1 == prompt.maxTokens || position + 1 >= capacity
        let task = try stageTask(index, stage: 0, position: position, input: .tokens([next]), isFinal: isFinal)
        return DriverStep(newTasks: [task], progress: progress)
    }

    private mutating func finish(_ index: Int, stopped: Bool) throws -> DriverStep {
        let state = states[index]
        // !-safe: only a prompt whose stage-0 prompt task returned its facts can finish.
        let facts = state.facts!
        results[index] = InferenceResult(
            index: index, promptTokenCount: facts.promptTokenCount, tokens: state.generated, text: state.text,
            stoppedAtEndOfSequence: stopped, prefillSeconds: state.prefillSeconds, decodeSeconds: state.decodeSeconds)
        generatedTokens += state.generated.count
        completed += 1
        var tasks: [TaskRequest] = []
        if nextPrompt < prompts.count {
            tasks.append(try promptTask(nextPrompt))
            nextPrompt += 1
        }
        guard completed == prompts.count else { return DriverStep(newTasks: tasks, progress: progress) }
        return DriverStep(progress: progress, report: try report())
    }

    /// Starts a prompt over at stage 0 with the next epoch, after `stage`'s worker lacked its session.
    private mutating func restart(_ index: Int, stage: Int) throws -> TaskRequest {
        var state = PromptState()
        state.epoch = states[index].epoch + 1
        state.restarts = states[index].restarts + 1
        guard state.restarts <= Self.maxRestartsPerPrompt else {
            throw JobDriverError(
                "prompt \(index) started over \(Self.maxRestartsPerPrompt) times because stage \(stage)'s worker "
                    + "lacked its KV cache; workers may keep leaving or evicting sessions: check the worker logs, "
                    + "or lower --pipeline-prompts")
        }
        states[index] = state
        restarts += 1
        return try promptTask(index)
    }

    // MARK: - Tasks

    private mutating func promptTask(_ index: Int) throws -> TaskRequest {
        let prompt = prompts[index]
        return try stageTask(
            index, stage: 0, position: 0, input: .prompt(text: prompt.text, chat: prompt.chat),
            isFinal: prompt.maxTokens == 1)
    }

    private mutating func stageTask(
        _ index: Int, stage: Int, position: Int, input: InferenceStageTask.Input, isFinal: Bool
    ) throws -> TaskRequest {
        let state = states[index]
        let isPrefill = position == 0
        let isLast = stage == stageCount - 1
        let payload = InferenceStageTask(
            modelPath: template.modelPath, threads: template.threads, precision: template.precision,
            plan: template.plan, stage: stage, stageCount: stageCount, specDigest: specDigest, prompt: index,
            epoch: state.epoch, position: position, maxTokens: prompts[index].maxTokens,
            promptTokenCount: state.facts?.promptTokenCount, input: input,
            generated: isLast ? state.generated : [], stopTokens: isLast ? state.facts?.stopTokens ?? [] : [],
            releasesSession: isFinal)
        let taskIndex = nextTaskIndex
        nextTaskIndex += 1
        outstanding[taskIndex] = Step(
            prompt: index, stage: stage, position: position, isPrefill: isPrefill, isFinal: isFinal)
        return TaskRequest(
            index: taskIndex, executor: InferenceStageExecutor.executorKind, payload: try payload.encoded(),
            affinity: "stage-\(stage)")
    }

    // MARK: - Report

    private func report() throws -> JobReport {
        let wall = max(0, (lastFinish ?? 0) - (firstStart ?? 0))
        let decodeWall = states.reduce(0.0) { total, state in
            guard let start = state.decodeStartedAt, let end = state.decodeFinishedAt else { return total }
            return total + max(0, end - start)
        }
        var timings: [String: JSONValue] = [
            "stages": .number(Double(stageCount)),
            "restarts": .number(Double(restarts)),
            "decode_steps": .number(Double(states.reduce(0) { $0 + $1.decodeSteps })),
            "decode_wall_seconds": .number(decodeWall),
        ]
        if let layerCount {
            timings["stage_layers"] = .array(
                (0..<stageCount).map { stage in
                    let layers = InferencePipeline.layers(stage: stage, of: stageCount, layerCount: layerCount)
                    return .array([.number(Double(layers.lowerBound)), .number(Double(layers.upperBound))])
                })
        }
        return try InferenceReport.make(
            prompts: prompts, results: results.compactMap { $0 }, template: template, wall: wall, timings: timings,
            shard: "\(stageCount) pipeline stages")
    }
}
