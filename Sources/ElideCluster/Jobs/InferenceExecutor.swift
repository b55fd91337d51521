import ElideEngine
import ElideFormats
import ElideModels
import ElideTensor
import Foundation
import Synchronization

/// The worker side of `inference`: generates each prompt of the task in turn on one session.
///
/// Each prompt starts from an empty KV cache, exactly as `elide generate` does, so greedy output equals the
/// local command's token for token.
struct InferenceExecutor: TaskExecutor {
    var kind: String { InferenceJob.executorKind }

    func execute(payload: [UInt8], seed: UInt64, context: TaskContext) throws -> [UInt8] {
        let startedAt = wallClockSeconds()
        let task = try InferenceTask.decode(payload)
        guard let precision = ActivationPrecision(rawValue: task.precision) else {
            throw JobDriverError("inference task asks for activations '\(task.precision)'; expected q8 or f32")
        }
        let loaded = try LoadedModelCache.shared.model(path: task.modelPath)
        let model = loaded.model
        try task.plan?.validate(layerCount: model.configuration.blockCount)
        let skipPolicy = try task.skipPolicyJSON.map { json in
            let policy = try FeedForwardSkipPolicy.parse(Data(json.utf8), source: "FFN skip policy of the job")
            try FeedForwardSkipRule.adaptive(policy).validate(
                mask: task.plan?.mask ?? .dense(layers: model.configuration.blockCount))
            return policy
        }
        // A pool runs one parallel loop at a time, so each task gets its own.
        let pool = ThreadPool(threads: task.threads)

        var results: [InferenceResult] = []
        for prompt in task.prompts {
            try context.checkCancellation()
            let tokens = PromptEncoding.tokens(of: prompt.text, chat: prompt.chat, tokenizer: loaded.tokenizer)
            let contextLength = model.configuration.contextLength
            guard !tokens.isEmpty, tokens.count < contextLength else {
                throw JobDriverError(
                    "prompt \(prompt.index) has \(tokens.count) tokens; it needs 1 to \(contextLength - 1) for this model"
                )
            }
            let capacity = InferencePipeline.sessionCapacity(
                promptTokens: tokens.count, maxTokens: prompt.maxTokens, contextLength: contextLength)
            let session = LlamaSession(
                model: model, capacity: capacity, precision: precision, mask: task.plan?.mask, pool: pool)
            var sampler = TokenSampler(
                temperature: task.sampling.temperature, topK: task.sampling.topK, seed: prompt.seed)
            let generation = TextGenerator(session: session).generate(
                prompt: tokens, maxTokens: prompt.maxTokens, sampler: &sampler,
                stopTokens: PromptEncoding.stopTokens(chat: prompt.chat, tokenizer: loaded.tokenizer),
                skipPolicy: skipPolicy)
            results.append(
                InferenceResult(
                    index: prompt.index, promptTokenCount: tokens.count, tokens: generation.generatedTokens,
                    text: loaded.tokenizer.decode(generation.generatedTokens),
                    stoppedAtEndOfSequence: generation.stoppedAtEndOfSequence,
                    prefillSeconds: generation.prefillSeconds, decodeSeconds: generation.decodeSeconds,
                    feedForwardSkipCount: skipPolicy == nil ? nil : generation.feedForwardSkipCount))
        }
        return try InferenceTaskOutput(startedAt: startedAt, finishedAt: wallClockSeconds(), results: results)
            .encoded()
    }
}

/// Models and tokenizers kept for the life of a worker process, so the tasks of a job load the
/// model once.
final class LoadedModelCache: Sendable {
    struct Entry: Sendable {
        let model: LlamaModel
        let tokenizer: BPETokenizer
    }

    static let shared = LoadedModelCache()

    private let models = Mutex<[String: Entry]>([:])
    /// Serialises loading, so two tasks that need the same model load it once.
    private let loading = Mutex<Void>(())

    func model(path: String) throws -> Entry {
        if let cached = models.withLock({ $0[path] }) { return cached }
        return try loading.withLock { _ in
            if let cached = models.withLock({ $0[path] }) { return cached }
            let file = try GGUFFile(path: path)
            let entry = Entry(model: try LlamaModel(file: file), tokenizer: try BPETokenizer(gguf: file))
            models.withLock { $0[path] = entry }
            return entry
        }
    }
}
