import ElideEngine
import ElideModels
import Foundation
import Testing

/// The DINOv2-S ONNX file and a deterministic test image, shared by the vision policy tests.
enum VisionPolicyAssets {
    static var elideHome: String {
        ProcessInfo.processInfo.environment["ELIDE_HOME"] ?? (NSHomeDirectory() + "/.cache/elide")
    }

    static var modelPath: String { elideHome + "/models/dinov2-s-focus.onnx" }

    /// The model, loaded once per test process; nil (with a recorded issue) when the file is missing.
    static let runner: VisionRunner? = {
        guard FileManager.default.fileExists(atPath: modelPath) else { return nil }
        return try? VisionRunner(model: VisionTransformer.load(onnxPath: modelPath))
    }()

    /// Returns the runner or records an issue that names scripts/fetch-assets.
    static func requireRunner() throws -> VisionRunner {
        try #require(runner, "missing or unreadable \(modelPath); run scripts/fetch-assets to install it")
    }

    /// A normalised `side × side` RGB image with smooth structure and one bright square, so attention varies.
    static func image(side: Int, seed: Int = 0) -> [Float] {
        var values = [Float](repeating: 0, count: 3 * side * side)
        for channel in 0..<3 {
            for y in 0..<side {
                for x in 0..<side {
                    var value = 0.5 + 0.4 * sin(Float(x + 3 * seed) * 0.11 * Float(channel + 1)) * cos(Float(y) * 0.07)
                    if x > side / 3 && x < side / 2 && y > side / 2 && y < 3 * side / 4 { value = 1 }
                    values[(channel * side + y) * side + x] = value
                }
            }
        }
        return VisionImage(values: values, channels: 3, height: side, width: side).normalised()
    }
}
