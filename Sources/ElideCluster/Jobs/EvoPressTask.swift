import ElideEngine
import ElideSearch
import Foundation

/// The payload of one `evopress` task: the job's inputs and one piece of work. Encoded as JSON.
struct EvoPressTask: Codable, Sendable, Equatable {
    enum Work: Codable, Sendable, Equatable {
        /// Perplexity windows `windows` of the held-out tokens under `plan` (nil: the dense model). A task for
        /// the dense model also reports `ModelFacts`.
        case heldOut(plan: CompressionPlan?, windows: Range<Int>)
        /// Mean statistics between pairs of residual-stream boundaries of the dense model, over the first
        /// `tokens` tokens of each calibration sequence.
        case boundaryStatistics(sequenceIDs: [Int], tokens: Int, pairs: [BoundaryPair])
        /// KL sums of `plan` against the dense model on the first `tokens` tokens of each sequence.
        case divergence(plan: CompressionPlan, sequenceIDs: [Int], tokens: Int)
    }

    var environment: EvoPressEnvironment
    var work: Work

    func encoded() throws -> [UInt8] { Array(try EvoPressCoding.encoder.encode(self)) }

    static func decode(_ bytes: [UInt8]) throws -> EvoPressTask {
        do {
            return try JSONDecoder().decode(EvoPressTask.self, from: Data(bytes))
        } catch {
            throw JobDriverError(
                "evopress task payload of \(bytes.count) bytes is not valid: \(error); the coordinator and the "
                    + "worker may run different builds")
        }
    }
}

/// Two residual-stream boundaries, numbered as `SubBlockBoundary` does: 2i enters layer i, 2i + 1 enters its
/// MLP and 2n leaves the last layer.
struct BoundaryPair: Codable, Sendable, Hashable {
    var from: Int
    var to: Int
}

/// Token means of the two similarity measures the baselines rank by.
struct BoundaryStatistics: Codable, Sendable, Equatable {
    var pair: BoundaryPair
    /// Mean of 1 − cos(x_from, x_to): ShortGPT's block influence.
    var influence: Double
    /// Mean of arccos(cos(x_from, x_to)) / π: the sliding-window baseline's angular distance.
    var angularDistance: Double
}

/// Facts about the model and texts that only a worker can read; the driver needs them to build the search.
struct ModelFacts: Codable, Sendable, Equatable {
    var layerCount: Int
    var calibrationSequenceCount: Int
    /// Tokenizer model, pre-tokenizer and size, as `DenseModelCheck.tokenizerDescription` prints them.
    var tokenizer: String
    /// Held-out files the scored tokens come from.
    var evaluationDocuments: [String]
}

/// The output of one `evopress` task. Encoded as JSON.
struct EvoPressTaskOutput: Codable, Sendable, Equatable {
    /// Wall-clock seconds since 1970 on the worker when the task started and finished. Only the report's
    /// timings and the progress line use them.
    var startedAt: Double
    var finishedAt: Double
    var facts: ModelFacts?
    /// Σ negative log-likelihood and the number of predictions scored, for `.heldOut`.
    var negativeLogLikelihoodSum: Double?
    var scoredTokens: Int?
    var statistics: [BoundaryStatistics]?
    var divergences: [SequenceKL]?

    init(startedAt: Double, finishedAt: Double) {
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    func encoded() throws -> [UInt8] { Array(try EvoPressCoding.encoder.encode(self)) }

    static func decode(_ bytes: [UInt8], task index: UInt64) throws -> EvoPressTaskOutput {
        do {
            return try JSONDecoder().decode(EvoPressTaskOutput.self, from: Data(bytes))
        } catch {
            throw JobDriverError(
                "evopress task \(index) returned \(bytes.count) bytes that are not a valid result: \(error); the "
                    + "coordinator and the worker may run different builds")
        }
    }
}

enum EvoPressCoding {
    /// Sorted keys, so equal values always encode to equal bytes.
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
