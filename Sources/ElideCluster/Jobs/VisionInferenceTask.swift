import ElideEngine
import Foundation

/// One task of an `inference` job over images: a vision policy applied to a few image files.
struct VisionInferenceTask: Codable, Sendable, Equatable {
    /// DINOv2 ONNX file; every worker reads this path.
    var modelPath: String
    var policy: VisionPolicy
    /// Side of the square view given to the model, a multiple of 14. HiRED's sub-images have this side too.
    var side: Int
    /// Compute threads of the vision model.
    var threads: Int
    var images: [VisionImageReference]

    func encoded() throws -> [UInt8] { Array(try EvoPressCoding.encoder.encode(self)) }

    static func decode(_ bytes: [UInt8]) throws -> VisionInferenceTask {
        do {
            return try JSONDecoder().decode(VisionInferenceTask.self, from: Data(bytes))
        } catch {
            throw JobDriverError(
                "a vision inference task payload of \(bytes.count) bytes is not valid: \(error); the coordinator and "
                    + "the worker may run different builds")
        }
    }
}

/// An image file by its place in the job's list; workers read the path.
struct VisionImageReference: Codable, Sendable, Equatable {
    var index: Int
    var path: String
}

/// The result of one image, computed on a worker.
struct VisionImageResult: Codable, Sendable, Equatable {
    var index: Int
    /// Size of the decoded file.
    var width: Int
    var height: Int
    /// Patch and fused tokens the policy kept: rows entering the last layer for single-view policies, tokens
    /// selected over all views for HiRED.
    var tokens: Int
    /// Multiply-adds with the policy and with the unmodified model on the same views.
    var flops: Int
    var fullFlops: Int
    /// Cosine similarity of the policy's pooled feature to the unmodified model's.
    var cosineToFull: Double
    /// The pooled feature itself (CLS after the final norm, or the mean of HiRED's kept tokens).
    var feature: [Float]
    var seconds: Double
}

struct VisionInferenceTaskOutput: Codable, Sendable, Equatable {
    var startedAt: Double
    var finishedAt: Double
    var results: [VisionImageResult]

    func encoded() throws -> [UInt8] { Array(try EvoPressCoding.encoder.encode(self)) }

    static func decode(_ bytes: [UInt8], task index: UInt64) throws -> VisionInferenceTaskOutput {
        do {
            return try JSONDecoder().decode(VisionInferenceTaskOutput.self, from: Data(bytes))
        } catch {
            throw JobDriverError(
                "vision inference task \(index) returned \(bytes.count) bytes that are not a valid result: \(error); "
                    + "the coordinator and the worker may run different builds")
        }
    }
}
