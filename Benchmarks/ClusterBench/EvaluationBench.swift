import ElideEngine
import ElideFormats
import ElideModels
import ElideSupport
import ElideTensor

/// Candidate-evaluation tokens per second of one worker against the dense model's prefill on the same
/// calibration tokens and thread count (`CandidateEvaluationBenchmark`), for a plan dropping 25% of SmolLM2's
/// sub-blocks.
struct EvaluationBench {
    let options: BenchOptions

    /// Drops 8 attention and 7 MLP sub-blocks of the upper layers, a typical 25% depth plan.
    static let plan = CompressionPlan(
        layers: 30, attentionDropped: Array(18..<26), mlpDropped: Array(18..<25))

    func run() throws {
        let file = try GGUFFile(path: options.model)
        let model = try LlamaModel(file: file)
        let tokenizer = try BPETokenizer(gguf: file)
        let folder = BenchOptions.elideHome + "/text/austen"
        let calibration = try CalibrationSet.load(
            paths: CalibrationSet.paths(CalibrationSet.defaultCalibrationFiles, in: folder), tokenizer: tokenizer,
            sequenceLength: 1024)
        for threads in options.evaluationThreads {
            let evaluator = try CandidateEvaluator(
                model: model, calibration: calibration, settings: EvaluatorSettings(),
                pool: ThreadPool(threads: threads))
            BenchLog.info(
                "evaluation: \(threads) thread(s), 8 sequences of 1,024 tokens, \(options.repetitions) rounds")
            let result = try CandidateEvaluationBenchmark.measure(
                evaluator: evaluator, mask: Self.plan.mask, sequenceIDs: Array(0..<8), tokensPerSequence: 1024,
                repetitions: options.repetitions)
            var record = BenchRecord(test: "evaluation")
            record["threads"] = .integer(threads)
            record["tokens"] = .integer(result.tokens)
            record["kept_fraction"] = .number(result.keptSubBlockFraction)
            record["candidate_tokens_per_second"] = .number(result.candidateTokensPerSecond)
            record["dense_prefill_tokens_per_second"] = .number(result.densePrefillTokensPerSecond)
            record["dense_all_logits_tokens_per_second"] = .number(result.denseAllLogitsTokensPerSecond)
            record["cache_build_tokens_per_second"] = .number(result.cacheBuildTokensPerSecond)
            record["target_tokens_per_second"] = .number(result.targetTokensPerSecond)
            record["ratio_to_target"] = .number(result.candidateTokensPerSecond / result.targetTokensPerSecond)
            record.print()
        }
    }
}
