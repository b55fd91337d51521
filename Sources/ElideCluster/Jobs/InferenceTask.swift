import ElideEngine
import ElideModels
import Foundation

/// One prompt of an `inference` job, as the job's prompts file gives it.
struct InferencePrompt: Codable, Sendable, Equatable {
    /// Position in the prompts file, counted from 0; results come back in this order.
    var index: Int
    var text: String
    /// Tokens to generate at most; the file's `max_tokens`, else the job's `--max-tokens`.
    var maxTokens: Int
    /// Wrap the text as a ChatML user message and stop at `<|im_end|>`.
    var chat: Bool
    /// Seed of this prompt's sampler, derived from the job seed and `index`, so a prompt samples the same
    /// tokens whichever task or worker runs it.
    var seed: UInt64
}

/// Sampling settings of the next token: greedy at temperature 0.
struct InferenceSampling: Codable, Sendable, Equatable {
    var temperature: Float
    var topK: Int
}

/// The payload of one `inference` task: the job's model settings and the prompts to run. Encoded as JSON.
struct InferenceTask: Codable, Sendable, Equatable {
    var modelPath: String
    var threads: Int
    /// `q8` or `f32`, as `ActivationPrecision` names them.
    var precision: String
    var plan: CompressionPlan?
    /// FFN-SkipLLM policy in the JSON of its file, where a threshold may be the string "+inf"; nil for none.
    var skipPolicyJSON: String?
    var sampling: InferenceSampling
    var prompts: [InferencePrompt]

    func encoded() throws -> [UInt8] { Array(try EvoPressCoding.encoder.encode(self)) }

    static func decode(_ bytes: [UInt8]) throws -> InferenceTask {
        do {
            return try JSONDecoder().decode(InferenceTask.self, from: Data(bytes))
        } catch {
            throw JobDriverError(
                "inference task payload of \(bytes.count) bytes is not valid: \(error); the coordinator and the "
                    + "worker may run different builds")
        }
    }
}

/// The generation of one prompt.
struct InferenceResult: Codable, Sendable, Equatable {
    var index: Int
    var promptTokenCount: Int
    var tokens: [Int]
    var text: String
    /// True when generation met a stop token before `maxTokens`.
    var stoppedAtEndOfSequence: Bool
    var prefillSeconds: Double
    var decodeSeconds: Double
    /// Skipped and considered FFN blocks of the decode steps, with an FFN skip policy.
    var feedForwardSkipCount: FeedForwardSkipCount?
}

/// The output of one `inference` task. Encoded as JSON.
struct InferenceTaskOutput: Codable, Sendable, Equatable {
    /// Wall-clock seconds since 1970 on the worker when the task started and finished; only timings use them.
    var startedAt: Double
    var finishedAt: Double
    var results: [InferenceResult]

    func encoded() throws -> [UInt8] { Array(try EvoPressCoding.encoder.encode(self)) }

    static func decode(_ bytes: [UInt8], task index: UInt64) throws -> InferenceTaskOutput {
        do {
            return try JSONDecoder().decode(InferenceTaskOutput.self, from: Data(bytes))
        } catch {
            throw JobDriverError(
                "inference task \(index) returned \(bytes.count) bytes that are not a valid result: \(error); the "
                    + "coordinator and the worker may run different builds")
        }
    }
}
