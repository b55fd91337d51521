import ElideFormats
import ElideModels
import ElideTensor
import Synchronization

/// Candidate evaluators kept for the life of a worker process, so the model, the tokenized calibration
/// set and the dense cache are built once and reused by every task that names the same inputs.
public final class EvaluatorRegistry: Sendable {
    /// Everything an evaluator depends on. Two tasks with equal keys share one evaluator.
    public struct Key: Hashable, Sendable {
        public var modelPath: String
        public var calibrationPaths: [String]
        public var sequenceLength: Int
        public var settings: EvaluatorSettings
        /// Threads of the evaluator's pool, which the evaluator owns.
        public var threads: Int

        public init(
            modelPath: String, calibrationPaths: [String], sequenceLength: Int = CalibrationSet.defaultSequenceLength,
            settings: EvaluatorSettings = EvaluatorSettings(), threads: Int
        ) {
            self.modelPath = modelPath
            self.calibrationPaths = calibrationPaths
            self.sequenceLength = sequenceLength
            self.settings = settings
            self.threads = threads
        }
    }

    /// The registry of this process.
    public static let shared = EvaluatorRegistry()

    private let evaluators = Mutex<[Key: CandidateEvaluator]>([:])
    /// Serialises loading, so two threads asking for the same key load it once.
    private let loading = Mutex<Void>(())

    public init() {}

    /// Returns the evaluator for `key`, loading the model and tokenizing the calibration files on first use.
    public func evaluator(for key: Key) throws -> CandidateEvaluator {
        if let existing = evaluators.withLock({ $0[key] }) { return existing }
        return try loading.withLock { _ in
            if let existing = evaluators.withLock({ $0[key] }) { return existing }
            let file = try GGUFFile(path: key.modelPath)
            let model = try LlamaModel(file: file)
            let tokenizer = try BPETokenizer(gguf: file)
            let calibration = try CalibrationSet.load(
                paths: key.calibrationPaths, tokenizer: tokenizer, sequenceLength: key.sequenceLength)
            guard key.threads >= 1 else {
                throw CalibrationError("an evaluator needs at least 1 thread, got \(key.threads)")
            }
            let evaluator = try CandidateEvaluator(
                model: model, calibration: calibration, settings: key.settings, pool: ThreadPool(threads: key.threads))
            evaluators.withLock { $0[key] = evaluator }
            return evaluator
        }
    }

    /// Forgets every evaluator, releasing its caches once no task uses it.
    public func removeAll() {
        evaluators.withLock { $0.removeAll() }
    }
}
