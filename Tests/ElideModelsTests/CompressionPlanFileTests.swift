import ElideEngine
import Foundation
import Testing

/// Plan files: a round trip, and errors that name the file, the field and the expected shape.
@Suite struct CompressionPlanFileTests {
    static func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "elide-plan-\(UUID().uuidString).json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func message(_ text: String) throws -> String {
        let path = try write(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try CompressionPlan.load(path: path)
        } catch let error as PlanError {
            #expect(error.description.contains(path))
            return error.description
        }
        throw PlanError("the plan file was accepted: \(text)")
    }

    @Test func planFileRoundTrip() throws {
        let plan = CompressionPlan(layers: 30, attentionDropped: [3, 17], mlpDropped: [25])
        let path = try Self.write(String(decoding: try plan.jsonData(), as: UTF8.self))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try CompressionPlan.load(path: path) == plan)
    }

    @Test func missingFieldIsNamed() throws {
        let message = try Self.message(#"{"layers": 30, "attention_dropped": [3]}"#)
        #expect(message.contains("missing field \"mlp_dropped\""))
        #expect(message.contains("expected {"))
    }

    @Test func wrongTypeIsNamed() throws {
        let message = try Self.message(#"{"layers": "thirty", "attention_dropped": [], "mlp_dropped": []}"#)
        #expect(message.contains("field \"layers\" has the wrong type"))
    }

    @Test func invalidJSONIsRejected() throws {
        let message = try Self.message("not json")
        #expect(message.contains("not a JSON object"))
    }
}
