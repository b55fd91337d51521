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

    /// The `elide` binary built beside the test runner (`make test` builds release first), else the
    /// one in `.build/release` or `.build/debug`.
    static func binary() throws -> URL {
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let candidates = [
            URL(fileURLWithPath: runner).deletingLastPathComponent().appendingPathComponent("elide"),
            repositoryRoot.appendingPathComponent(".build/release/elide"),
            repositoryRoot.appendingPathComponent(".build/debug/elide"),
        ]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            Issue.record("elide not found in \(candidates.map(\.path)); run 'swift build' first")
            throw CocoaError(.fileNoSuchFile)
        }
        return found
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
