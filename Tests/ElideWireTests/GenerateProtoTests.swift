import Foundation
import Testing

/// Runs scripts/generate-proto as a real process.
@Suite struct GenerateProtoTests {
    private func runScript(_ script: URL, arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = script
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test func checkedInCodeIsFresh() throws {
        let script = repositoryRoot().appendingPathComponent("scripts/generate-proto")
        let (status, output) = try runScript(script, arguments: ["--check"])
        #expect(status == 0, "scripts/generate-proto --check failed:\n\(output)")
    }

    @Test func staleCodeIsDetected() throws {
        // A copy of the script, schema and generated code, with one schema field renamed.
        let root = repositoryRoot()
        let copy = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: copy) }
        let manager = FileManager.default
        for folder in ["scripts", "proto", "Sources/ElideProto/include"] {
            try manager.createDirectory(at: copy.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        for file in [
            "scripts/generate-proto", "proto/elide.proto", "proto/onnx.proto", "Sources/ElideProto/elide.pb-c.c",
            "Sources/ElideProto/include/elide.pb-c.h", "Sources/ElideProto/onnx.pb-c.c",
            "Sources/ElideProto/include/onnx.pb-c.h", "Sources/ElideProto/include/ElideProto.h",
        ] {
            try manager.copyItem(at: root.appendingPathComponent(file), to: copy.appendingPathComponent(file))
        }
        let schema = copy.appendingPathComponent("proto/elide.proto")
        let text = try String(contentsOf: schema, encoding: .utf8)
        #expect(text.contains("string detail = 1;"))
        try text.replacingOccurrences(of: "string detail = 1;", with: "string details = 1;")
            .write(to: schema, atomically: true, encoding: .utf8)

        let script = copy.appendingPathComponent("scripts/generate-proto")
        let (status, output) = try runScript(script, arguments: ["--check"])
        #expect(status == 1)
        #expect(output.contains("stale"))
        #expect(output.contains("elide.pb-c"))

        let (writeStatus, _) = try runScript(script, arguments: [])
        #expect(writeStatus == 0)
        let (recheckStatus, recheckOutput) = try runScript(script, arguments: ["--check"])
        #expect(recheckStatus == 0, "after regenerating, --check still fails:\n\(recheckOutput)")
    }

    @Test func staleSecondSchemaIsDetected() throws {
        // The check covers every schema in proto/, not only the first one.
        let root = repositoryRoot()
        let copy = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: copy) }
        let manager = FileManager.default
        for folder in ["scripts", "proto", "Sources/ElideProto/include"] {
            try manager.createDirectory(at: copy.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        for file in [
            "scripts/generate-proto", "proto/elide.proto", "proto/onnx.proto", "Sources/ElideProto/elide.pb-c.c",
            "Sources/ElideProto/include/elide.pb-c.h", "Sources/ElideProto/onnx.pb-c.c",
            "Sources/ElideProto/include/onnx.pb-c.h", "Sources/ElideProto/include/ElideProto.h",
        ] {
            try manager.copyItem(at: root.appendingPathComponent(file), to: copy.appendingPathComponent(file))
        }
        let schema = copy.appendingPathComponent("proto/onnx.proto")
        let text = try String(contentsOf: schema, encoding: .utf8)
        #expect(text.contains("optional string op_type = 4;"))
        try text.replacingOccurrences(of: "optional string op_type = 4;", with: "optional string operator_type = 4;")
            .write(to: schema, atomically: true, encoding: .utf8)

        let script = copy.appendingPathComponent("scripts/generate-proto")
        let (status, output) = try runScript(script, arguments: ["--check"])
        #expect(status == 1)
        #expect(output.contains("onnx.pb-c"))
        #expect(!output.contains("elide.pb-c.c differs"))
    }
}
