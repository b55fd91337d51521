import ElideEngine
import ElideModels
import Foundation

/// Layer ranges and session sizes of pipeline-parallel inference (`--shard layers`). Pure.
enum InferencePipeline {
    /// Returns the layers stage `stage` of `stageCount` runs: contiguous ranges in order, sizes differing by
    /// at most one, the larger ones first (30 layers in 4 stages: 8, 8, 7, 7).
    static func layers(stage: Int, of stageCount: Int, layerCount: Int) -> Range<Int> {
        precondition(stageCount >= 1 && stageCount <= layerCount, "\(stageCount) stages for \(layerCount) layers")
        precondition(stage >= 0 && stage < stageCount, "stage \(stage) of \(stageCount)")
        let base = layerCount / stageCount
        let extra = layerCount % stageCount
        let start = stage * base + min(stage, extra)
        return start..<(start + base + (stage < extra ? 1 : 0))
    }

    /// Returns `mask` (or the dense mask) with every sub-block outside `layers` dropped, so a session under
    /// it keeps KV caches only for the stage's own attention layers and reads only the stage's weights.
    static func stageMask(_ mask: SubBlockMask?, layers: Range<Int>, layerCount: Int) -> SubBlockMask {
        var stageMask = mask ?? .dense(layers: layerCount)
        for layer in 0..<layerCount where !layers.contains(layer) {
            stageMask.attentionKept[layer] = false
            stageMask.mlpKept[layer] = false
        }
        return stageMask
    }

    /// Returns the KV cache length of a generation: the one `InferenceExecutor` gives its session. It also
    /// sets the chunk size of the prefill (`LlamaSession.batchCapacity`), so every stage must use it to
    /// split the prompt as local generation does.
    static func sessionCapacity(promptTokens: Int, maxTokens: Int, contextLength: Int) -> Int {
        max(min(contextLength, promptTokens + maxTokens), promptTokens + 1)
    }
}

/// The payload of one pipeline stage task: run one stage's layers on a prompt or on one generated token.
/// Encoded as JSON.
struct InferenceStageTask: Codable, Sendable, Equatable {
    /// The stage's input.
    enum Input: Codable, Sendable, Equatable {
        /// The prompt text, tokenized by stage 0 on the worker (the driver has no tokenizer).
        case prompt(text: String, chat: Bool)
        /// Token ids for stage 0: one generated token.
        case tokens([Int])
        /// The previous stage's output rows: Float32 values, `rows` × the model width, in the byte order of
        /// the machine that wrote them (all supported machines are little-endian).
        case hidden(rows: Int, data: Data)
    }

    var modelPath: String
    var threads: Int
    /// `q8` or `f32`, as `ActivationPrecision` names them.
    var precision: String
    var plan: CompressionPlan?
    var stage: Int
    var stageCount: Int
    /// Names the stage session on the worker together with the job id: the spec digest and the prompt.
    var specDigest: String
    var prompt: Int
    /// Incremented each time the prompt starts over; a session of an older epoch is never used again.
    var epoch: Int
    /// The position of the input's first row; the session must already hold this many positions.
    var position: Int
    var maxTokens: Int
    /// The prompt's token count; nil only in the prompt task of stage 0, which counts them itself.
    var promptTokenCount: Int?
    var input: Input
    /// Tokens generated before this step, for the last stage to decode the text.
    var generated: [Int]
    /// Token ids that end the generation; the last stage leaves them out of the text.
    var stopTokens: [Int]
    /// True when this step produces the prompt's last token by length (`maxTokens` or a full KV cache), so
    /// the stage drops its session afterwards. A generation that ends at a stop token leaves its sessions
    /// to eviction.
    var releasesSession: Bool

    var isLastStage: Bool { stage == stageCount - 1 }

    func encoded() throws -> [UInt8] { Array(try EvoPressCoding.encoder.encode(self)) }

    static func decode(_ bytes: [UInt8]) throws -> InferenceStageTask {
        do {
            return try JSONDecoder().decode(InferenceStageTask.self, from: Data(bytes))
        } catch {
            throw JobDriverError(
                "inference stage task payload of \(bytes.count) bytes is not valid: \(error); the coordinator and "
                    + "the worker may run different builds")
        }
    }
}

/// Facts about a prompt that only a worker, which has the tokenizer, can establish; stage 0 returns them
/// with the prompt's hidden rows.
struct InferencePromptFacts: Codable, Sendable, Equatable {
    var promptTokenCount: Int
    var contextLength: Int
    var layerCount: Int
    var stopTokens: [Int]
}

/// The output of one pipeline stage task. Encoded as JSON.
struct InferenceStageOutput: Codable, Sendable, Equatable {
    enum Result: Codable, Sendable, Equatable {
        /// Rows for the next stage, in `InferenceStageTask.Input.hidden`'s format.
        case hidden(rows: Int, data: Data)
        /// The last stage's greedy next token, and the text of the generation so far: the task's `generated`
        /// tokens followed by `next` unless `next` is a stop token.
        case token(next: Int, text: String)
        /// The worker has no session at the task's position for this prompt, stage and epoch, because the
        /// worker is new to the stage or evicted the session; the prompt must start over.
        case missingState
    }

    /// Wall-clock seconds since 1970 on the worker when the task started and finished.
    var startedAt: Double
    var finishedAt: Double
    /// Seconds spent in the forward pass.
    var computeSeconds: Double
    var result: Result
    /// Set by stage 0's prompt task.
    var facts: InferencePromptFacts?

    func encoded() throws -> [UInt8] { Array(try EvoPressCoding.encoder.encode(self)) }

    static func decode(_ bytes: [UInt8], task index: UInt64) throws -> InferenceStageOutput {
        do {
            return try JSONDecoder().decode(InferenceStageOutput.self, from: Data(bytes))
        } catch {
            throw JobDriverError(
                "inference stage task \(index) returned \(bytes.count) bytes that are not a valid result: \(error); "
                    + "the coordinator and the worker may run different builds")
        }
    }
}
