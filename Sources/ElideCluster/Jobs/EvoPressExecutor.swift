import ElideEngine
import ElideFormats
import ElideModels
import Foundation
import Synchronization

/// The worker side of `evopress`: runs one task with the engine.
///
/// The model, the tokenized calibration set and the dense caches come from `EvaluatorRegistry.shared`, and the
/// tokenized held-out text from `HeldOutTextCache.shared`, so a worker process builds each of them once and
/// every later task of the job reuses them.
struct EvoPressExecutor: TaskExecutor {
    var kind: String { EvoPressJob.executorKind }

    func execute(payload: [UInt8], seed: UInt64, context: TaskContext) throws -> [UInt8] {
        let startedAt = wallClockSeconds()
        let task = try EvoPressTask.decode(payload)
        try context.checkCancellation()
        let evaluator = try EvaluatorRegistry.shared.evaluator(for: try task.environment.evaluatorKey)
        try context.checkCancellation()

        var output = EvoPressTaskOutput(startedAt: startedAt, finishedAt: startedAt)
        switch task.work {
        case .heldOut(let plan, let windows):
            try scoreHeldOut(plan: plan, windows: windows, environment: task.environment, evaluator, into: &output)
        case .boundaryStatistics(let sequenceIDs, let tokens, let pairs):
            var accumulator = BoundaryStatisticsAccumulator(pairs: pairs)
            for id in sequenceIDs {
                try context.checkCancellation()
                try evaluator.calibration.validate(sequenceID: id, tokenCount: tokens)
                accumulator.add(try evaluator.cache.reference(sequenceID: id).states, tokens: tokens)
            }
            output.statistics = accumulator.statistics()
        case .divergence(let plan, let sequenceIDs, let tokens):
            try plan.validate(layerCount: evaluator.model.configuration.blockCount)
            output.divergences = try evaluator.evaluate(
                mask: plan.mask, sequenceIDs: sequenceIDs, tokensPerSequence: tokens)
        }
        output.finishedAt = wallClockSeconds()
        return try output.encoded()
    }

    /// Scores held-out windows `windows` under `plan`. Windows are cut exactly as one perplexity run over all
    /// held-out tokens cuts them, so the job's sum over tasks scores the same predictions.
    private func scoreHeldOut(
        plan: CompressionPlan?, windows: Range<Int>, environment: EvoPressEnvironment, _ evaluator: CandidateEvaluator,
        into output: inout EvoPressTaskOutput
    ) throws {
        let model = evaluator.model
        let calibrationSequenceCount = evaluator.calibration.count
        try plan?.validate(layerCount: model.configuration.blockCount)
        let heldOut = try HeldOutTextCache.shared.text(
            model: model, paths: environment.evaluationPaths, tokenCount: environment.evaluationTokens)
        let context = environment.sequenceLength
        let tokens = heldOut.tokens
        let first = windows.lowerBound * context
        let end = min(windows.upperBound * context, tokens.count)
        guard windows.lowerBound >= 0, first + 1 < end else {
            throw JobDriverError(
                "held-out windows \(windows) of \(context) tokens fall outside the \(tokens.count) held-out tokens")
        }
        let perplexity = PerplexityEvaluator(
            model: model, precision: evaluator.settings.precision, mask: plan?.mask, pool: evaluator.pool)
        let result = try perplexity.evaluate(
            tokens: Array(tokens[first..<end]), context: context, protocol: .elide, bosID: nil)
        output.negativeLogLikelihoodSum = result.negativeLogLikelihood * Double(result.scoredTokens)
        output.scoredTokens = result.scoredTokens

        if plan == nil {
            output.facts = ModelFacts(
                layerCount: model.configuration.blockCount,
                calibrationSequenceCount: calibrationSequenceCount,
                tokenizer: DenseModelCheck.tokenizerDescription(of: model.file),
                evaluationDocuments: heldOut.documentNames)
        }
    }
}

/// Tokenized held-out texts kept for the life of a worker process, keyed by model file, paths and length.
final class HeldOutTextCache: Sendable {
    struct Key: Hashable {
        var modelPath: String
        var paths: [String]
        var tokenCount: Int
    }

    static let shared = HeldOutTextCache()

    private let texts = Mutex<[Key: HeldOutText]>([:])
    /// Serialises tokenization, so two tasks that need the same text tokenize it once.
    private let loading = Mutex<Void>(())

    func text(model: LlamaModel, paths: [String], tokenCount: Int) throws -> HeldOutText {
        let key = Key(modelPath: model.file.path, paths: paths, tokenCount: tokenCount)
        if let cached = texts.withLock({ $0[key] }) { return cached }
        return try loading.withLock { _ in
            if let cached = texts.withLock({ $0[key] }) { return cached }
            let tokenizer = try BPETokenizer(gguf: model.file)
            let text = try HeldOutText.load(paths: paths, tokenizer: tokenizer, tokenCount: tokenCount)
            texts.withLock { $0[key] = text }
            return text
        }
    }
}
