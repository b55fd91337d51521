import Foundation
import Testing

/// Locates the assets `scripts/fetch-assets` installs; tests that need them fail (not skip) when missing.
enum TestAssets {
    static var home: String {
        if let home = ProcessInfo.processInfo.environment["ELIDE_HOME"], !home.isEmpty { return home }
        return NSHomeDirectory() + "/.cache/elide"
    }

    static var smolLM2Path: String { home + "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }
    static var excerptPath: String { home + "/text/pride-and-prejudice-2000-8000.txt" }

    /// Returns `path` if the file exists, else records a failure that says how to get it.
    static func require(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("missing asset \(path); run scripts/fetch-assets (or make assets)")
            throw MissingAsset(path: path)
        }
        return path
    }

    struct MissingAsset: Error { let path: String }

    /// Reads a JSON fixture shipped with this test target.
    static func fixture(_ name: String) throws -> Any {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            Issue.record("missing fixture Fixtures/\(name); regenerate it with scripts/reference/run")
            throw MissingAsset(path: name)
        }
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }
}
