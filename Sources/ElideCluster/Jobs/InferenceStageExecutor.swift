import ElideEngine
import ElideFormats
import ElideModels
import ElideSupport
import ElideTensor
import Foundation

/// The worker side of `--shard layers`: runs one pipeline stage's layers for one prompt, on a session the
/// worker keeps between the stage's tasks.
///
/// Stage 0 runs token ids (the prompt, or one generated token) from the embedding. Later stages resume from
/// the previous stage's hidden rows at the input of their first layer. Every stage but the last returns
/// the rows leaving its last layer; the last returns the greedy next token. A prompt is split into the
/// same `batchCapacity` chunks as in local generation, so the rows pass through the same kernels with the
/// same row counts and the tokens equal `elide generate`'s.
struct InferenceStageExecutor: TaskExecutor {
    static let executorKind = "inference-stage"

    var kind: String { Self.executorKind }
    let store: StageSessionStore

    init(store: StageSessionStore = .shared) {
        self.store = store
    }

    func execute(payload: [UInt8], seed: UInt64, context: TaskContext) throws -> [UInt8] {
        let startedAt = wallClockSeconds()
        try context.checkCancellation()
        let task = try InferenceStageTask.decode(payload)
        guard let precision = ActivationPrecision(rawValue: task.precision) else {
            throw JobDriverError("inference stage task asks for activations '\(task.precision)'; expected q8 or f32")
        }
        let loaded = try LoadedModelCache.shared.model(path: task.modelPath)
        let configuration = loaded.model.configuration
        let layerCount = configuration.blockCount
        try task.plan?.validate(layerCount: layerCount)
        guard task.stageCount >= 1, task.stageCount <= layerCount else {
            throw JobDriverError(
                "--stages \(task.stageCount) does not fit \(task.modelPath), which has \(layerCount) layers; give 1 "
                    + "to \(layerCount)")
        }
        guard task.stage >= 0, task.stage < task.stageCount else {
            throw JobDriverError("inference stage task names stage \(task.stage) of \(task.stageCount)")
        }

        // Stage 0's prompt task tokenizes the prompt; every other task gets the token count from the driver.
        var tokens: [Int] = []
        var facts: InferencePromptFacts?
        let promptTokenCount: Int
        if case .prompt(let text, let chat) = task.input {
            guard task.stage == 0, task.position == 0 else {
                throw JobDriverError("only stage 0 at position 0 takes prompt text, not stage \(task.stage)")
            }
            tokens = PromptEncoding.tokens(of: text, chat: chat, tokenizer: loaded.tokenizer)
            let contextLength = configuration.contextLength
            guard !tokens.isEmpty, tokens.count < contextLength else {
                throw JobDriverError(
                    "prompt \(task.prompt) has \(tokens.count) tokens; it needs 1 to \(contextLength - 1) for this "
                        + "model")
            }
            promptTokenCount = tokens.count
            facts = InferencePromptFacts(
                promptTokenCount: tokens.count, contextLength: contextLength, layerCount: layerCount,
                stopTokens: PromptEncoding.stopTokens(chat: chat, tokenizer: loaded.tokenizer).sorted())
        } else {
            guard let count = task.promptTokenCount else {
                throw JobDriverError("inference stage task for prompt \(task.prompt) carries no prompt token count")
            }
            promptTokenCount = count
        }
        let capacity = InferencePipeline.sessionCapacity(
            promptTokens: promptTokenCount, maxTokens: task.maxTokens, contextLength: configuration.contextLength)

        let key = StageSessionStore.Key(
            job: context.task.task.job, specDigest: task.specDigest, prompt: task.prompt, stage: task.stage)
        let missing = {
            try InferenceStageOutput(
                startedAt: startedAt, finishedAt: wallClockSeconds(), computeSeconds: 0, result: .missingState
            ).encoded()
        }
        guard let entry = store.entry(key, epoch: task.epoch, create: task.position == 0) else { return try missing() }
        entry.lock.lock()
        defer { entry.lock.unlock() }

        let session: LlamaSession
        if task.position == 0 {
            if let existing = entry.session, existing.capacity == capacity {
                existing.reset()
                session = existing
            } else {
                let layers = InferencePipeline.layers(stage: task.stage, of: task.stageCount, layerCount: layerCount)
                session = LlamaSession(
                    model: loaded.model, capacity: capacity, precision: precision,
                    mask: InferencePipeline.stageMask(task.plan?.mask, layers: layers, layerCount: layerCount),
                    pool: ThreadPool(threads: task.threads))
                entry.session = session
            }
        } else {
            // A session past the position ran this step before, in an attempt whose result was lost.
            guard let existing = entry.session, existing.position >= task.position else { return try missing() }
            existing.truncate(to: task.position)
            session = existing
        }

        let computeStart = MonotonicClock.now()
        let result = try run(task, tokens: tokens, on: session, tokenizer: loaded.tokenizer)
        if task.releasesSession { store.release(key, epoch: task.epoch) }
        return try InferenceStageOutput(
            startedAt: startedAt, finishedAt: wallClockSeconds(),
            computeSeconds: MonotonicClock.seconds(since: computeStart), result: result, facts: facts
        ).encoded()
    }

    /// Runs the stage's layers on the task's input and returns its hidden rows or next token.
    private func run(
        _ task: InferenceStageTask, tokens promptTokens: [Int], on session: LlamaSession, tokenizer: BPETokenizer
    ) throws -> InferenceStageOutput.Result {
        let width = session.model.configuration.embeddingLength
        let layerCount = session.model.configuration.blockCount
        let layers = InferencePipeline.layers(stage: task.stage, of: task.stageCount, layerCount: layerCount)
        var rowsOut: [Float] = []
        var next = -1
        let observer: HiddenStateObserver? =
            task.isLastStage
            ? nil
            : { _, point, states, _ in
                if point == .finalOutput { rowsOut.append(contentsOf: states) }
            }
        let logits: LogitRequest = task.isLastStage ? .last : .none
        let pickNext: (Int, UnsafeBufferPointer<Float>) -> Void = { _, row in next = TokenSampler.argmax(row) }

        let rowCount: Int
        switch task.input {
        case .prompt, .tokens:
            guard task.stage == 0 else {
                throw JobDriverError(
                    "stage \(task.stage) of prompt \(task.prompt) got token ids instead of hidden rows")
            }
            var tokens = promptTokens
            if case .tokens(let ids) = task.input { tokens = ids }
            rowCount = tokens.count
            try checkRoom(task, rows: rowCount, session: session)
            session.forward(tokens, logits: logits, observer: observer, onLogits: pickNext)
        case .hidden(let rows, let data):
            guard task.stage > 0 else {
                throw JobDriverError("stage 0 of prompt \(task.prompt) got hidden rows instead of token ids")
            }
            guard rows >= 1, data.count == rows * width * MemoryLayout<Float>.size else {
                throw JobDriverError(
                    "stage \(task.stage) of prompt \(task.prompt) got \(data.count) bytes for \(rows) rows of "
                        + "\(width) floats")
            }
            rowCount = rows
            try checkRoom(task, rows: rowCount, session: session)
            let states = [Float](unsafeUninitializedCapacity: rows * width) { buffer, count in
                _ = data.copyBytes(to: buffer)
                count = rows * width
            }
            states.withUnsafeBufferPointer { states in
                // !-safe: rows >= 1, so the buffer is not empty.
                session.forward(
                    resumingAt: SubBlockBoundary(index: 2 * layers.lowerBound), states: states.baseAddress!,
                    count: rows, logits: logits, observer: observer, onLogits: pickNext)
            }
        }

        guard task.isLastStage else {
            let data = rowsOut.withUnsafeBytes { Data($0) }
            return .hidden(rows: rowCount, data: data)
        }
        let kept = task.stopTokens.contains(next) ? task.generated : task.generated + [next]
        return .token(next: next, text: tokenizer.decode(kept))
    }

    private func checkRoom(_ task: InferenceStageTask, rows: Int, session: LlamaSession) throws {
        guard session.position + rows <= session.capacity else {
            throw JobDriverError(
                "stage \(task.stage) of prompt \(task.prompt) would hold \(session.position + rows) positions, "
                    + "above its KV cache of \(session.capacity)")
        }
    }
}
