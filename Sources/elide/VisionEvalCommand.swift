import ElideEngine
import ElideFormats
import ElideModels
import ElideSupport
import Foundation

/// `elide eval vision`: probe accuracy and cost of vision token-reduction policies on DINOv2-S.
enum VisionEvalCommand {
    static let spec = CommandSpec(
        name: "eval vision",
        summary: """
            Measure vision token-reduction policies (top-k, evit, clca, hired, random, spatial, yopo) on DINOv2-S.

              With --dataset, each grey 28×28 image is repeated into RGB, resized to --side and normalised with
              the ImageNet mean and standard deviation. A linear probe (softmax regression) and a k-NN classifier
              (cosine, k = 20) are trained on the full model's --features of --train images and score each
              policy's features of --test images. HiRED-family policies see a full view at --side plus four
              sub-images cut from the image resized to 2 · --side; their feature is the mean of the kept tokens,
              scored by probes trained with every token kept and by an adapted probe trained on the policy's own
              training features. clca rows also train the cross-layer aggregation (CLA) head and an adapted
              probe on the policy's own training features. With --images, the table is the cosine similarity of
              pooled features to the full model's on those photographs. FLOPs are multiply-adds.

              POLICY SPECS: METHOD[:VALUE | :KEY=VALUE,...], several separated by ';', or a JSON file (one policy
              or an array). Examples: 'evit:0.1;evit:0.5', 'clca:0.1', 'hired:budget=0.2,alpha=0.5',
              'random:0.2', 'spatial:0.2', 'yopo:window=3,cls_only_from_layer=8,prune_heads=12'. In yopo specs,
              prune_heads=N calibrates N heads to prune on --calibration images of the training set.
            """,
        options: [
            OptionSpec(
                "policy", value: "FILE|SPECS", help: "Policies to measure; the full model is always measured too.",
                required: true),
            OptionSpec(
                "dataset", value: "mnist|fashion-mnist", help: "Labelled images for the probes.", default: "mnist"),
            OptionSpec("train", value: "N", help: "Training images for the probes.", default: "1000"),
            OptionSpec("test", value: "N", help: "Test images scored.", default: "500"),
            OptionSpec("side", value: "PIXELS", help: "Input side for datasets, a multiple of 14.", default: "112"),
            OptionSpec(
                "images", value: "DIR|FILES",
                help: "PNG or JPEG photographs (a folder or comma-separated files): measure cosine drift instead."),
            OptionSpec(
                "photo-side", value: "PIXELS", help: "Input side for photographs, a multiple of 14.", default: "224"),
            OptionSpec(
                "calibration", value: "N", help: "Training images that calibrate yopo prune_heads.", default: "32"),
            OptionSpec(
                "features", value: "cls|cls+mean", help: "Single-view probe input: CLS, or CLS and mean patch token.",
                default: "cls"),
            .flag("adapted", help: "Also train a probe on each single-view policy's own features (slower)."),
            OptionSpec("seed", value: "S", help: "Seed of the training and test subsets.", default: "0"),
            OptionSpec(
                "model", value: "PATH", help: "DINOv2 ONNX file (default: $ELIDE_HOME/models/dinov2-s-focus.onnx)."),
            OptionSpec("threads", value: "N", help: "Threads per model call.", default: "1"),
            OptionSpec(
                "svg", value: "FILE", help: "Write accuracy (or cosine) against keep rate and budget as an SVG plot."),
            .flag("json", help: "Print the rows as one JSON object."),
        ])

    struct Report: Encodable {
        let model: String
        let dataset: String?
        let train: Int
        let test: Int
        let side: Int
        let photos: [String]?
        let rows: [VisionEvaluationRow]?
        let photo_rows: [VisionPhotoDriftRow]?
        let seconds: Double
    }

    /// Runs the command and returns its exit status, printing any error to stderr.
    static func main(_ arguments: ArraySlice<String>) -> Int32 {
        do {
            return try run(arguments)
        } catch let error as UsageError {
            printError("elide eval vision: \(error)")
            return ExitCode.usage
        } catch {
            printError("elide eval vision: \(error)")
            return ExitCode.failure
        }
    }

    static func run(_ arguments: ArraySlice<String>) throws -> Int32 {
        guard let options = try parseOrHelp(spec, arguments) else { return ExitCode.success }
        let start = MonotonicClock.now()
        let json = options.flag("json")
        let log: (String) -> Void = { line in if !json { printError("eval vision: " + line) } }
        let side = try multipleOf14(options, "side")
        let photoSide = try multipleOf14(options, "photo-side")
        let trainCount = try FeedForwardSkipOptions.count(options, "train", minimum: 2)
        let testCount = try FeedForwardSkipOptions.count(options, "test", minimum: 1)
        let calibrationCount = try FeedForwardSkipOptions.count(options, "calibration", minimum: 1)
        let threads = try options.int("threads") ?? 1
        guard threads >= 1 && threads <= 256 else {
            throw UsageError("invalid value '\(threads)' for --threads: expected 1 to 256")
        }
        guard let seed = UInt64(options.string("seed") ?? "0") else {
            throw UsageError("invalid value '\(options.string("seed") ?? "")' for --seed: expected a whole number")
        }
        let probeInput = ProbeInput(
            rawValue: try options.choice("features", ProbeInput.allCases.map(\.rawValue)) ?? "cls")!
        if let svg = options.string("svg") { try OutputPath.checkFile(svg, option: "svg") }
        let requests = try policyRequests(options.required("policy"))
        let modelPath = options.string("model") ?? FeedForwardSkipOptions.elideHome + "/models/dinov2-s-focus.onnx"
        let model: VisionTransformer
        do {
            model = try VisionTransformer.load(onnxPath: modelPath, threads: threads)
        } catch {
            throw CommandError(
                "cannot load the vision model \(modelPath): \(error); run scripts/fetch-assets to install it")
        }
        let runner = VisionRunner(model: model)

        if let images = options.string("images") {
            let paths = try photoPaths(images)
            let photos = try paths.map { VisionImage(try PixelImage.load(path: $0)) }
            let policies = try calibrated(requests, runner: runner, side: photoSide, count: calibrationCount, log: log)
            { count in
                photos.prefix(count).map { $0.resized(height: photoSide, width: photoSide).normalised() }
            }
            let rows = VisionPhotoDrift.measure(
                runner: runner, photos: photos, policies: policies, side: photoSide, probeInput: probeInput, log: log)
            if let svg = options.string("svg") {
                try writePlot(
                    title: "Cosine similarity to the full model on \(photos.count) photographs", yLabel: "cosine",
                    points: rows.map { ($0.method, $0.setting, $0.meanCosine) }, to: svg)
            }
            let report = Report(
                model: modelPath, dataset: nil, train: 0, test: 0, side: photoSide, photos: paths, rows: nil,
                photo_rows: rows, seconds: MonotonicClock.seconds(since: start))
            print(json ? try jsonLine(report) : photoTable(rows))
            return ExitCode.success
        }

        let datasetName = try options.choice("dataset", StandardImageDataset.allCases.map(\.rawValue)) ?? "mnist"
        let dataset = StandardImageDataset(rawValue: datasetName)!  // !-safe: choice() accepted a raw value.
        let home = FeedForwardSkipOptions.elideHome
        let trainSet: LabeledImageSet
        let testSet: LabeledImageSet
        do {
            trainSet = try subset(dataset.load(split: .train, elideHome: home), count: trainCount, seed: seed)
            testSet = try subset(dataset.load(split: .test, elideHome: home), count: testCount, seed: seed &+ 1)
        } catch {
            throw CommandError(
                "cannot load \(datasetName) from \(dataset.folder(elideHome: home)): \(error); run scripts/fetch-assets to install it"
            )
        }
        var settings = VisionEvaluation.Settings()
        settings.side = side
        settings.probeInput = probeInput
        settings.adaptedProbes = options.flag("adapted")
        let evaluation = VisionEvaluation(runner: runner, train: trainSet, test: testSet, settings: settings, log: log)
        let policies = try calibrated(requests, runner: runner, side: side, count: calibrationCount, log: log) {
            count in
            (0..<min(count, trainSet.count)).map { evaluation.input(trainSet, $0) }
        }
        let rows = evaluation.evaluate(policies)
        let report = Report(
            model: modelPath, dataset: datasetName, train: trainSet.count, test: testSet.count, side: side, photos: nil,
            rows: rows, photo_rows: nil, seconds: MonotonicClock.seconds(since: start))
        if json {
            print(try jsonLine(report))
        } else {
            print(table(rows))
            print(
                "\(datasetName): \(trainSet.count) training and \(testSet.count) test images at \(side)×\(side), \(formatted(report.seconds, 1)) s"
            )
        }
        // The table is out first, so a plot that cannot be written does not cost the measurements.
        if let svg = options.string("svg") {
            try writePlot(
                title: "Linear-probe accuracy on \(datasetName), \(testSet.count) test images", yLabel: "accuracy",
                points: rows.map { ($0.method, $0.setting, $0.linearAccuracy) }, to: svg)
        }
        return ExitCode.success
    }

    // MARK: - Options

    static func multipleOf14(_ options: ParsedOptions, _ name: String) throws -> Int {
        let value = try options.int(name) ?? 0
        guard value >= 14 && value % 14 == 0 && value <= 1_008 else {
            throw UsageError("invalid value '\(value)' for --\(name): expected a multiple of 14 from 14 to 1008 pixels")
        }
        return value
    }

    /// A policy with, for yopo specs, the number of heads to calibrate.
    struct PolicyRequest {
        var policy: VisionPolicy
        var headsToCalibrate: Int?
    }

    /// Reads `--policy`: a JSON file when the path exists, else ';'-separated specs.
    static func policyRequests(_ value: String) throws -> [PolicyRequest] {
        if FileManager.default.fileExists(atPath: value) {
            return try VisionPolicy.load(path: value).map { PolicyRequest(policy: $0) }
        }
        if value.hasSuffix(".json") || value.contains("/") {
            throw UsageError(
                "invalid value '\(value)' for --policy: no such file; give a policy JSON file or specs such as "
                    + "'evit:0.5;hired:0.2'")
        }
        let parts = value.split(separator: ";").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !parts.isEmpty else {
            throw UsageError("--policy is empty; give a policy JSON file or specs such as 'evit:0.5;hired:0.2'")
        }
        return try parts.map { part in
            var spec = part.trimmingCharacters(in: .whitespaces)
            var heads: Int? = nil
            if spec.hasPrefix("yopo"), let range = spec.range(of: #"prune_heads=\d+"#, options: .regularExpression) {
                heads = Int(spec[range].dropFirst("prune_heads=".count))
                spec.removeSubrange(range)
                spec = spec.replacingOccurrences(of: ",,", with: ",").replacingOccurrences(of: ":,", with: ":")
                while spec.hasSuffix(",") || spec.hasSuffix(":") { spec.removeLast() }
            }
            do {
                return PolicyRequest(policy: try VisionPolicy.parse(spec: spec), headsToCalibrate: heads)
            } catch {
                throw UsageError("invalid value for --policy: \(error)")
            }
        }
    }

    /// Fills in calibrated pruned heads and checks every policy against the model.
    static func calibrated(
        _ requests: [PolicyRequest], runner: VisionRunner, side: Int, count calibrationCount: Int,
        log: (String) -> Void,
        images: (Int) -> [[Float]]
    ) throws -> [VisionPolicy] {
        let configuration = runner.model.configuration
        return try requests.map { request in
            var policy = request.policy
            if let count = request.headsToCalibrate, case .yopo(var settings) = policy {
                let calibrationImages = images(calibrationCount)
                log("calibrating \(count) pruned heads on \(calibrationImages.count) images")
                var calibration = YOPOCalibration(
                    layers: configuration.layers, heads: configuration.heads, count: count)
                for image in calibrationImages {
                    calibration.add(model: runner.model, image: image, height: side, width: side)
                }
                settings.prunedHeads = calibration.prunedHeads
                policy = .yopo(settings)
            }
            do {
                try policy.validate(layerCount: configuration.layers, headCount: configuration.heads)
            } catch {
                throw UsageError("invalid value for --policy: \(error)")
            }
            return policy
        }
    }

    /// Returns a seeded random subset of `count` images (all of them when the set is smaller).
    static func subset(_ set: LabeledImageSet, count: Int, seed: UInt64) -> LabeledImageSet {
        var generator = SeededGenerator(seed: seed)
        var indices = Array(0..<set.count)
        indices.shuffle(using: &generator)
        return set.subset(Array(indices.prefix(count)))
    }

    static func photoPaths(_ value: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: value, isDirectory: &isDirectory), isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: value)) ?? []
            let images = names.filter { [".png", ".jpg", ".jpeg"].contains(where: $0.lowercased().hasSuffix) }.sorted()
            guard !images.isEmpty else { throw CommandError("no .png, .jpg or .jpeg files in \(value)") }
            return images.map { value + "/" + $0 }
        }
        return value.split(separator: ",").map(String.init)
    }

    // MARK: - Output

    static func table(_ rows: [VisionEvaluationRow]) -> String {
        var lines = [
            "| policy | linear probe | k-NN | adapted probe | CLA head | GFLOPs/image | ms/image | tokens |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in rows {
            lines.append(
                "| \(row.label) | \(formatted(row.linearAccuracy * 100, 1)) | \(formatted(row.knnAccuracy * 100, 1)) "
                    + "| \(row.adaptedLinearAccuracy.map { formatted($0 * 100, 1) } ?? "–") "
                    + "| \(row.headAccuracy.map { formatted($0 * 100, 1) } ?? "–") | \(formatted(row.flopsPerImage / 1e9, 3)) "
                    + "| \(formatted(row.secondsPerImage * 1000, 1)) | \(formatted(row.tokensPerImage, 1)) |")
        }
        return lines.joined(separator: "\n")
    }

    static func photoTable(_ rows: [VisionPhotoDriftRow]) -> String {
        var lines = [
            "| policy | mean cosine | minimum cosine | GFLOPs/image | ms/image |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in rows {
            lines.append(
                "| \(row.label) | \(formatted(row.meanCosine, 4)) | \(formatted(row.minimumCosine, 4)) "
                    + "| \(formatted(row.flopsPerImage / 1e9, 3)) | \(formatted(row.secondsPerImage * 1000, 1)) |")
        }
        return lines.joined(separator: "\n")
    }

    /// Plots one series per method against keep rate or budget; methods without a setting are flat lines.
    static func writePlot(title: String, yLabel: String, points: [(String, Double?, Double)], to path: String) throws {
        var plot = SVGLinePlot(title: title, xLabel: "keep rate or token budget", yLabel: yLabel)
        var methods: [String] = []
        for (method, _, _) in points where !methods.contains(method) { methods.append(method) }
        for method in methods {
            let series = points.filter { $0.0 == method }
            if series.allSatisfy({ $0.1 == nil }) {
                for (index, point) in series.enumerated() {
                    let name = series.count == 1 ? method : "\(method) \(index + 1)"
                    plot.addSeries(name, points: [(x: 0, y: point.2), (x: 1, y: point.2)])
                }
            } else {
                plot.addSeries(
                    method,
                    points: series.compactMap { point in point.1.map { (x: $0, y: point.2) } }.sorted { $0.x < $1.x })
            }
        }
        do {
            try Data(plot.render().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandError("cannot write the SVG plot to \(path): \(error)")
        }
    }
}
