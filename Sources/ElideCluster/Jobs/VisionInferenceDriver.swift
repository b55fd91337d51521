import ElideEngine
import Foundation

/// The coordinator side of an `inference` job over images: one task per `--images-per-task` files, results
/// kept by image index and reported in list order.
///
/// Each image's result depends only on the file, the policy and the view side, so the report's values (all
/// but `timings`) are the same for any number of workers, for retries and for an in-process run.
struct VisionInferenceDriver: JobDriver {
    let settings: VisionInferenceSettings
    private var results: [VisionImageResult?]
    private var outstanding: [UInt64: Range<Int>] = [:]
    private var completed = 0
    private var firstStart: Double?
    private var lastFinish: Double?

    init(settings: VisionInferenceSettings) {
        self.settings = settings
        results = Array(repeating: nil, count: settings.images.count)
    }

    mutating func start() throws -> DriverStep {
        var tasks: [TaskRequest] = []
        var first = 0
        while first < settings.images.count {
            let range = first..<min(first + settings.imagesPerTask, settings.images.count)
            let task = VisionInferenceTask(
                modelPath: settings.modelPath, policy: settings.policy, side: settings.side, threads: settings.threads,
                images: Array(settings.images[range]))
            let index = UInt64(tasks.count)
            outstanding[index] = range
            tasks.append(
                TaskRequest(index: index, executor: InferenceJob.visionExecutorKind, payload: try task.encoded()))
            first = range.upperBound
        }
        return DriverStep(newTasks: tasks, progress: progress)
    }

    mutating func handle(taskIndex: UInt64, output: [UInt8]) throws -> DriverStep {
        guard let range = outstanding.removeValue(forKey: taskIndex) else {
            throw JobDriverError("vision inference job received an unexpected or repeated result for task \(taskIndex)")
        }
        let decoded = try VisionInferenceTaskOutput.decode(output, task: taskIndex)
        guard decoded.results.map(\.index) == Array(range) else {
            throw JobDriverError(
                "vision inference task \(taskIndex) returned results for images \(decoded.results.map(\.index)), "
                    + "expected \(Array(range))")
        }
        for result in decoded.results { results[result.index] = result }
        completed += decoded.results.count
        firstStart = min(firstStart ?? decoded.startedAt, decoded.startedAt)
        lastFinish = max(lastFinish ?? decoded.finishedAt, decoded.finishedAt)
        guard completed == settings.images.count else { return DriverStep(progress: progress) }
        return DriverStep(progress: progress, report: try report())
    }

    var progress: JobProgress {
        JobProgress(
            completed: completed, total: settings.images.count, detail: "images, policy \(settings.policy.label)")
    }

    private func report() throws -> JobReport {
        let finished = results.compactMap { $0 }
        var images: [JSONValue] = []
        var all = FNV1a64()
        for result in finished {
            var digest = FNV1a64()
            for value in result.feature { digest.add(UInt64(value.bitPattern)) }
            all.add(digest.value)
            images.append(
                .object([
                    "index": .number(Double(result.index)), "path": .string(settings.images[result.index].path),
                    "width": .number(Double(result.width)), "height": .number(Double(result.height)),
                    "tokens": .number(Double(result.tokens)), "flops": .number(Double(result.flops)),
                    "full_flops": .number(Double(result.fullFlops)), "cosine_to_full": .number(result.cosineToFull),
                    "feature_digest": .string(digest.value.hex16),
                ]))
        }

        let count = Double(max(1, finished.count))
        let meanCosine = finished.reduce(0) { $0 + $1.cosineToFull } / count
        let flops = finished.reduce(0) { $0 + $1.flops }
        let fullFlops = finished.reduce(0) { $0 + $1.fullFlops }
        let ratio = fullFlops > 0 ? Double(flops) / Double(fullFlops) : 1
        let wall = max(0, (lastFinish ?? 0) - (firstStart ?? 0))

        let policyValue = try JSONDecoder().decode(
            JSONValue.self, from: try EvoPressCoding.encoder.encode(settings.policy))
        let summary =
            "\(finished.count) images, policy \(settings.policy.label), side \(settings.side): mean cosine to the "
            + "full model \(String(format: "%.4f", meanCosine)), multiply-adds \(String(format: "%.3f", ratio)) "
            + "of full"

        return JobReport(
            summary: summary,
            values: [
                "images": .array(images), "policy": policyValue,
                "policy_label": .string(settings.policy.label), "side": .number(Double(settings.side)),
                "mean_cosine_to_full": .number(meanCosine), "flops_per_image": .number(Double(flops) / count),
                "full_flops_per_image": .number(Double(fullFlops) / count), "flops_ratio": .number(ratio),
                "features_digest": .string(all.value.hex16),
                "timings": .object([
                    "wall_seconds": .number(wall),
                    "seconds_per_image": .number(finished.reduce(0) { $0 + $1.seconds } / count),
                ]),
            ])
    }
}

/// The options of an `inference` job over images, parsed once.
struct VisionInferenceSettings: Sendable {
    let images: [VisionImageReference]
    let policy: VisionPolicy
    let modelPath: String
    let side: Int
    let imagesPerTask: Int
    let threads: Int

    init(spec: JobSpec) throws {
        let options = JobOptions(spec, options: InferenceJob.options)
        guard let imagesJSON = spec.options["images-json"] else {
            throw JobDriverError(
                "the inference job carries no image list: submit it with 'elide submit inference --images FILES|DIR "
                    + "--vision-policy POLICY', which lists the files")
        }
        let paths: [String]
        do {
            paths = try JSONDecoder().decode([String].self, from: Data(imagesJSON.utf8))
        } catch {
            throw JobDriverError("the job's images-json is not a JSON array of paths: \(error)")
        }
        guard !paths.isEmpty else { throw JobDriverError("the inference job has no images") }
        images = paths.enumerated().map { VisionImageReference(index: $0, path: $1) }
        if let json = spec.options["vision-policy-json"] {
            let policies = try VisionPolicy.decode(Data(json.utf8), source: "vision policy of the job")
            guard policies.count == 1, let only = policies.first else {
                throw JobDriverError(
                    "the vision policy of an inference job must be one policy, not a list of \(policies.count)")
            }
            policy = only
        } else {
            policy = .none
        }
        modelPath = spec.options["vision-model"] ?? InferenceJob.defaultVisionModelPath
        side = try options.int("image-side", in: 14...4_032)
        guard side % 14 == 0 else {
            throw JobDriverError(
                "invalid value '\(side)' for --image-side: the model reads 14-pixel patches, so give a multiple of 14 "
                    + "such as 224")
        }
        imagesPerTask = try options.int("images-per-task", in: 1...100_000)
        threads = try options.int("threads", in: 1...256)
    }
}
