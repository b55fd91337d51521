import ElideEngine
import ElideModels
import Foundation
import Testing

/// Tests of the JSON policy file: round trip, and errors that name the file and the field.
@Suite struct FeedForwardSkipPolicyFileTests {
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ffn-skip-\(UUID())-\(name)").path
    }

    static func write(_ text: String) throws -> String {
        let path = temporaryPath("policy.json")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(arguments: [Float(0.97125), .infinity, -1])
    func roundTripKeepsEveryField(threshold: Float) throws {
        let policy = FeedForwardSkipPolicy(
            warmupTokens: 24, coldStart: 3, coldEnd: 2, threshold: threshold, skipCount: 4)
        let path = Self.temporaryPath("round-trip.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try policy.write(to: path)
        #expect(try FeedForwardSkipPolicy.load(path: path) == policy)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\"skip_count\":4"))
        #expect(text.contains("\"warmup_tokens\":24"))
    }

    @Test func infiniteThresholdIsWrittenAsString() throws {
        let policy = FeedForwardSkipPolicy(
            warmupTokens: 0, coldStart: 1, coldEnd: 1, threshold: .infinity, skipCount: 1)
        let text = String(decoding: try policy.jsonData(), as: UTF8.self)
        #expect(text.contains("\"threshold\":\"+inf\""))
    }

    @Test(arguments: [
        (#"{"warmup_tokens": 16, "cold_start": 3, "cold_end": 2, "threshold": 0.9}"#, "skip_count"),
        (
            #"{"warmup_tokens": 16, "cold_start": "three", "cold_end": 2, "threshold": 0.9, "skip_count": 2}"#,
            "cold_start"
        ),
        (#"{"warmup_tokens": 16, "cold_start": 3, "cold_end": 2, "threshold": 0.9, "skip_count": 0}"#, "skip_count"),
        (#"{"warmup_tokens": -4, "cold_start": 3, "cold_end": 2, "threshold": 0.9, "skip_count": 2}"#, "warmup_tokens"),
        (#"{"warmup_tokens": 16, "cold_start": 3, "cold_end": 2, "threshold": "high", "skip_count": 2}"#, "threshold"),
    ])
    func badFieldIsNamed(json: String, field: String) throws {
        let path = try Self.write(json)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            try FeedForwardSkipPolicy.load(path: path)
        } throws: { error in
            (error as? FeedForwardSkipPolicyError)?.field == field && "\(error)".contains(path)
                && "\(error)".contains(field)
        }
    }

    @Test func invalidJSONAndMissingFileNameTheFile() throws {
        let path = try Self.write("warmup_tokens = 16")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            try FeedForwardSkipPolicy.load(path: path)
        } throws: { error in
            "\(error)".contains(path) && "\(error)".contains("not valid JSON")
        }
        let missing = Self.temporaryPath("missing.json")
        #expect {
            try FeedForwardSkipPolicy.load(path: missing)
        } throws: { error in
            "\(error)".contains(missing) && "\(error)".contains("not found")
        }
    }

    @Test func coldRegionsLargerThanModelFailValidation() throws {
        let path = try Self.write(
            #"{"warmup_tokens": 16, "cold_start": 20, "cold_end": 20, "threshold": 0.9, "skip_count": 2}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let policy = try FeedForwardSkipPolicy.load(path: path)
        #expect(throws: FeedForwardSkipPolicyError.self) { try policy.validate(layerCount: 30) }
    }
}
