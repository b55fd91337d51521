import ElideFormats
import ElideModels
import Foundation
import Synchronization
import Testing

/// Compares `VisionTransformer` on the DINOv2-S ONNX model with ONNX Runtime's outputs for the same inputs,
/// stored in Fixtures/dinov2-golden.json by scripts/reference-vision/run.
///
/// Tolerances: every stored value must be within `1e-4 × (1 + maxAbs)` of the reference, where `maxAbs` is
/// the largest magnitude in that stage's whole token matrix (about 1 after embedding, 11 after the last
/// layer); row norms and matrix statistics within a relative 1e-4 (plus an absolute floor of
/// 1e-4 × (1 + maxAbs) for row norms and the mean); attention probabilities within 1e-5 absolute. Measured
/// with OpenBLAS 0.3.21 (SkylakeX kernels) against ONNX Runtime 1.32.0: at most 7e-6 absolute on token values
/// and 1.2e-6 on attention.
@Suite(.serialized) struct VisionTransformerGoldenTests {
    @Test func goldenOutputsMatchONNXRuntime() throws {
        let model = try VisionTestAssets.model()
        let golden = try VisionGolden.load()
        #expect(golden.cases.count >= 2)
        for golden in golden.cases {
            let image = try VisionGolden.image(for: golden)
            try compare(model: model, golden: golden, image: image)
        }
    }

    @Test func forwardMatchesLayerByLayerRun() throws {
        let model = try VisionTestAssets.model()
        let image = VisionGolden.formulaImage("pattern", height: 56, width: 84)
        let whole = model.forward(image: image, height: 56, width: 84)
        var tokens = model.embed(image: image, height: 56, width: 84)
        for layer in 0..<model.configuration.layers {
            _ = model.runLayer(layer, tokens: &tokens, options: VisionLayerOptions())
        }
        #expect(model.finalNorm(tokens) == whole)
    }

    @Test func configurationReadFromGraph() throws {
        let model = try VisionTestAssets.model()
        #expect(model.configuration == VisionTransformerConfiguration())
    }

    private func compare(model: VisionTransformer, golden: VisionGolden.Case, image: [Float]) throws {
        let name = golden.name
        var stages: [String: VisionTokens] = [:]
        var attention: [String: [Float]] = [:]
        var tokens = model.embed(image: image, height: golden.height, width: golden.width)
        #expect(tokens.rows == 1 + (golden.height / 14) * (golden.width / 14), "\(name): token rows")
        stages["embeddings"] = tokens
        let last = model.configuration.layers - 1
        for layer in 0...last {
            var options = VisionLayerOptions()
            options.returnCLSAttention = layer == 0 || layer == last
            let trace = model.runLayer(layer, tokens: &tokens, options: options)
            if let cls = trace.clsAttention {
                attention["layer\(layer)"] = cls
            }
            stages["layer\(layer)"] = tokens
        }
        stages["final"] = model.finalNorm(tokens)

        for (stageName, expected) in golden.stages.sorted(by: { $0.key < $1.key }) {
            let actual = try #require(stages[stageName], "\(name): no stage \(stageName)")
            checkStage(actual, expected, label: "\(name) \(stageName)")
        }
        let finalCLS = try #require(stages["final"]).row(0)
        let finalScale = 1 + (golden.stages["final"]?.maxAbs ?? 0)
        let clsError = zip(finalCLS, golden.finalCLS).map { abs($0 - $1) }.max() ?? .infinity
        #expect(clsError <= 1e-4 * finalScale, "\(name): final CLS max abs error \(clsError)")

        for (layerName, expected) in golden.attention {
            let actual = try #require(attention[layerName], "\(name): no CLS attention for \(layerName)")
            let rows = actual.count / model.configuration.heads
            for (row, perHead) in expected.clsToRows {
                for (head, probability) in perHead.enumerated() {
                    let value = actual[head * rows + row]
                    #expect(
                        abs(value - probability) <= 1e-5,
                        "\(name) \(layerName) head \(head) CLS->row \(row): \(value) vs \(probability)")
                }
            }
            for head in 0..<expected.clsMax.count {
                let maximum = actual[(head * rows)..<((head + 1) * rows)].max() ?? 0
                #expect(
                    abs(maximum - expected.clsMax[head]) <= 1e-5,
                    "\(name) \(layerName) head \(head): CLS max \(maximum) vs \(expected.clsMax[head])")
            }
        }
    }

    private func checkStage(_ actual: VisionTokens, _ expected: VisionGolden.Stage, label: String) {
        let scale = 1 + expected.maxAbs
        var worst: Float = 0
        for (row, values) in expected.rows {
            for (channel, value) in values.enumerated() {
                worst = max(worst, abs(actual.values[row * actual.width + channel] - value))
            }
            let norm = actual.row(row).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let expectedNorm = expected.rowNorms[row] ?? .nan
            #expect(
                abs(norm - expectedNorm) <= 1e-4 * expectedNorm + 1e-4 * Double(scale),
                "\(label): row \(row) norm \(norm) vs \(expectedNorm)")
        }
        #expect(worst <= 1e-4 * scale, "\(label): max abs error \(worst) over the stored rows (scale \(scale))")

        let doubles = actual.values.map { Double($0) }
        let mean = doubles.reduce(0, +) / Double(doubles.count)
        let meanAbs = doubles.reduce(0) { $0 + abs($1) } / Double(doubles.count)
        let norm = doubles.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(mean - expected.mean) <= 1e-4 * Double(scale), "\(label): mean \(mean) vs \(expected.mean)")
        #expect(
            abs(meanAbs - expected.meanAbs) <= 1e-4 * expected.meanAbs,
            "\(label): mean |x| \(meanAbs) vs \(expected.meanAbs)")
        #expect(abs(norm - expected.norm) <= 1e-4 * expected.norm, "\(label): norm \(norm) vs \(expected.norm)")
    }
}

/// Locates the assets `scripts/fetch-assets` installs; tests that need them fail (not skip) when missing.
enum VisionTestAssets {
    static var home: String {
        if let home = ProcessInfo.processInfo.environment["ELIDE_HOME"], !home.isEmpty { return home }
        return NSHomeDirectory() + "/.cache/elide"
    }

    static var modelPath: String { home + "/models/dinov2-s-focus.onnx" }

    /// Returns `path` if the file exists, else records a failure that names the script that installs it.
    static func require(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("missing asset \(path); run scripts/fetch-assets (or make assets)")
            throw MissingAsset(path: path)
        }
        return path
    }

    struct MissingAsset: Error { let path: String }

    private static let loaded = Mutex<VisionTransformer?>(nil)

    /// Loads the DINOv2-S model once per test process.
    static func model() throws -> VisionTransformer {
        let path = try require(modelPath)
        return try loaded.withLock { cached in
            if let cached { return cached }
            let model = try VisionTransformer.load(onnxPath: path)
            cached = model
            return model
        }
    }
}

/// Fixtures/dinov2-golden.json, and the inputs it describes.
struct VisionGolden: Decodable {
    struct Stage: Decodable {
        /// First channels of chosen token rows, by row index.
        var rows: [Int: [Float]]
        var rowNorms: [Int: Double]
        var mean: Double
        var meanAbs: Double
        var maxAbs: Float
        var norm: Double

        enum CodingKeys: String, CodingKey { case rows, rowNorms, mean, meanAbs, maxAbs, norm }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            rows = try VisionGolden.byRow(container.decode([String: [Float]].self, forKey: .rows))
            rowNorms = try VisionGolden.byRow(container.decode([String: Double].self, forKey: .rowNorms))
            mean = try container.decode(Double.self, forKey: .mean)
            meanAbs = try container.decode(Double.self, forKey: .meanAbs)
            maxAbs = try container.decode(Float.self, forKey: .maxAbs)
            norm = try container.decode(Double.self, forKey: .norm)
        }
    }

    struct Attention: Decodable {
        /// CLS attention per head, by key row.
        var clsToRows: [Int: [Float]]
        var clsArgmax: [Int]
        var clsMax: [Float]

        enum CodingKeys: String, CodingKey { case clsToRows, clsArgmax, clsMax }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            clsToRows = try VisionGolden.byRow(container.decode([String: [Float]].self, forKey: .clsToRows))
            clsArgmax = try container.decode([Int].self, forKey: .clsArgmax)
            clsMax = try container.decode([Float].self, forKey: .clsMax)
        }
    }

    struct Source: Decodable {
        var formula: String?
        var png: String?
        var x: Int?
        var y: Int?
        var size: Int?
    }

    struct Case: Decodable {
        var name: String
        var source: Source
        var height: Int
        var width: Int
        var tokenRows: [Int]
        var stages: [String: Stage]
        var finalCLS: [Float]
        var attention: [String: Attention]
    }

    var cases: [Case]

    struct InvalidRowKey: Error { let key: String }

    static func byRow<T>(_ values: [String: T]) throws -> [Int: T] {
        var result: [Int: T] = [:]
        for (key, value) in values {
            guard let row = Int(key) else { throw InvalidRowKey(key: key) }
            result[row] = value
        }
        return result
    }

    static func load() throws -> VisionGolden {
        guard let url = Bundle.module.url(forResource: "dinov2-golden", withExtension: "json", subdirectory: "Fixtures")
        else {
            Issue.record("missing fixture Fixtures/dinov2-golden.json; regenerate it with scripts/reference-vision/run")
            throw VisionTestAssets.MissingAsset(path: "Fixtures/dinov2-golden.json")
        }
        return try JSONDecoder().decode(VisionGolden.self, from: Data(contentsOf: url))
    }

    static let mean: [Double] = [0.485, 0.456, 0.406]
    static let std: [Double] = [0.229, 0.224, 0.225]

    /// Builds the normalised model input for a golden case, built as scripts/reference-vision/dinov2_reference.py does.
    static func image(for golden: Case) throws -> [Float] {
        if let formula = golden.source.formula {
            return formulaImage(formula, height: golden.height, width: golden.width)
        }
        let file = try #require(golden.source.png, "\(golden.name): source has neither formula nor png")
        let x = try #require(golden.source.x)
        let y = try #require(golden.source.y)
        let size = try #require(golden.source.size)
        let path = try VisionTestAssets.require(VisionTestAssets.home + "/images/" + file)
        let photo = try PixelImage.load(path: path).rgb().cropped(x: x, y: y, width: size, height: size)
        var values = [Float](repeating: 0, count: 3 * size * size)
        for c in 0..<3 {
            for row in 0..<size {
                for column in 0..<size {
                    let pixel = Double(photo[column, row, c]) / 255
                    values[(c * size + row) * size + column] = Float((pixel - mean[c]) / std[c])
                }
            }
        }
        return values
    }

    /// Builds a synthetic image from one of the reference script's pixel formulas, normalised with the ImageNet
    /// mean and standard deviation.
    static func formulaImage(_ formula: String, height: Int, width: Int) -> [Float] {
        var values = [Float](repeating: 0, count: 3 * height * width)
        for c in 0..<3 {
            for y in 0..<height {
                for x in 0..<width {
                    let (dc, dy, dx) = (Double(c), Double(y), Double(x))
                    let pixel: Double
                    if formula == "pattern" {
                        pixel =
                            0.5 + 0.45 * sin(0.11 * dx + 0.07 * (dc + 1) * dy + 1.3 * dc)
                            * cos(0.05 * (dx - dy) + 0.9 * dc)
                    } else {
                        pixel =
                            0.5 + 0.35 * sin(0.2 * dx) * sin(0.15 * dy + dc) + 0.1 * Double((x + 2 * y + 7 * c) % 13)
                            / 13
                    }
                    values[(c * height + y) * width + x] = Float((pixel - mean[c]) / std[c])
                }
            }
        }
        return values
    }
}
