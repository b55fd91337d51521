import ElideEngine
import ElideFormats
import ElideModels
import Foundation
import Synchronization

/// The worker side of an `inference` job over images: decodes each file, applies the vision policy and the
/// unmodified model to the same views, and returns the pooled features with their cost.
///
/// The computation is `VisionImagePass`, the same function `elide eval vision` and the tests call, so a
/// cluster run and an in-process run return identical features.
struct VisionInferenceExecutor: TaskExecutor {
    var kind: String { InferenceJob.visionExecutorKind }

    func execute(payload: [UInt8], seed: UInt64, context: TaskContext) throws -> [UInt8] {
        let startedAt = wallClockSeconds()
        let task = try VisionInferenceTask.decode(payload)
        let model = try VisionModelCache.shared.model(path: task.modelPath, threads: task.threads)
        let runner = VisionRunner(model: model)
        var results: [VisionImageResult] = []
        for reference in task.images {
            try context.checkCancellation()
            let image: PixelImage
            do {
                image = try PixelImage.load(path: reference.path)
            } catch {
                throw JobDriverError("image \(reference.index) (\(reference.path)) cannot be read: \(error)")
            }
            let pass = VisionImagePass.run(
                runner: runner, image: VisionImage(image), policy: task.policy, side: task.side)
            results.append(
                VisionImageResult(
                    index: reference.index, width: image.width, height: image.height, tokens: pass.tokens,
                    flops: pass.flops, fullFlops: pass.fullFlops, cosineToFull: pass.cosineToFull,
                    feature: pass.feature, seconds: pass.seconds))
        }
        return try VisionInferenceTaskOutput(startedAt: startedAt, finishedAt: wallClockSeconds(), results: results)
            .encoded()
    }
}

/// Vision models kept for the life of a worker process, keyed by path and thread count.
final class VisionModelCache: Sendable {
    static let shared = VisionModelCache()

    private let models = Mutex<[String: VisionTransformer]>([:])
    /// Serialises loading, so two tasks that need the same model load it once.
    private let loading = Mutex<Void>(())

    func model(path: String, threads: Int) throws -> VisionTransformer {
        let key = "\(threads)\u{0}\(path)"
        if let cached = models.withLock({ $0[key] }) { return cached }
        return try loading.withLock { _ in
            if let cached = models.withLock({ $0[key] }) { return cached }
            let model = try VisionTransformer.load(onnxPath: path, threads: threads)
            models.withLock { $0[key] = model }
            return model
        }
    }
}
