import Foundation
import Testing

/// Runs the built `elide` binary as a real process and captures its output.
struct ElideProcess {
    struct Output {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// The repository root, found from this file's location.
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `elide` binary of the configuration the tests were built in (`make test` builds release first).
    static func binary() throws -> URL {
        let candidates = ["release", "debug"].map {
            repositoryRoot.appendingPathComponent(".build/\($0)/elide")
        }
        let bundleSibling = Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("elide")
        for candidate in [bundleSibling] + candidates where FileManager.default.isExecutableFile(atPath: candidate.path)
        {
            return candidate
        }
        Issue.record("elide binary not found next to the tests or in .build; run 'swift build' first")
        throw CocoaError(.fileNoSuchFile)
    }

    static func run(_ arguments: [String]) throws -> Output {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        let standardOutput = Pipe()
        let standardError = Pipe()
        process.standardOutput = standardOutput
        process.standardError = standardError
        try process.run()
        // Read both pipes to the end before waiting so a full pipe cannot block the child.
        let outputData = standardOutput.fileHandleForReading.readDataToEndOfFile()
        let errorData = standardError.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
            standardError: String(decoding: errorData, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("elide-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static var modelPath: String {
        let home =
            ProcessInfo.processInfo.environment["ELIDE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? NSHomeDirectory() + "/.cache/elide"
        return home + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    static func requireModel() throws -> String {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            Issue.record("missing asset \(modelPath); run scripts/fetch-assets (or make assets)")
            throw CocoaError(.fileNoSuchFile)
        }
        return modelPath
    }
}
