import ElideModels
import Foundation

/// Per-sub-block compression choices for a model: for the attention and the MLP sub-block of each layer,
/// whether it is kept. Search jobs produce plans, inference and export consume them; the JSON form is
///
///     {"layers": 30, "attention_dropped": [3, 17], "mlp_dropped": [25]}
///
/// with zero-based layer indices.
public struct CompressionPlan: Codable, Sendable, Equatable {
    public var layers: Int
    public var attentionDropped: [Int]
    public var mlpDropped: [Int]

    enum CodingKeys: String, CodingKey {
        case layers
        case attentionDropped = "attention_dropped"
        case mlpDropped = "mlp_dropped"
    }

    public init(layers: Int, attentionDropped: [Int] = [], mlpDropped: [Int] = []) {
        self.layers = layers
        self.attentionDropped = attentionDropped.sorted()
        self.mlpDropped = mlpDropped.sorted()
    }

    public static func dense(layers: Int) -> CompressionPlan { CompressionPlan(layers: layers) }

    /// Checks the plan against a model with `layerCount` layers; the error names the bad index.
    public func validate(layerCount: Int) throws {
        guard layers == layerCount else {
            throw PlanError("plan is for \(layers) layers but the model has \(layerCount)")
        }
        for (label, indices) in [("attention_dropped", attentionDropped), ("mlp_dropped", mlpDropped)] {
            for index in indices where index < 0 || index >= layerCount {
                throw PlanError("\(label) contains layer \(index), outside 0..<\(layerCount)")
            }
            if Set(indices).count != indices.count {
                throw PlanError("\(label) lists a layer more than once: \(indices)")
            }
        }
    }

    /// The mask the model's forward pass runs with.
    public var mask: SubBlockMask {
        var mask = SubBlockMask.dense(layers: layers)
        for index in attentionDropped { mask.attentionKept[index] = false }
        for index in mlpDropped { mask.mlpKept[index] = false }
        return mask
    }

    public var droppedCount: Int { attentionDropped.count + mlpDropped.count }

    /// Reads a plan from a JSON file; errors name the file and the problem.
    public static func load(path: String) throws -> CompressionPlan {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PlanError("cannot read plan file \(path): file not found or not readable")
        }
        do {
            return try JSONDecoder().decode(CompressionPlan.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw PlanError("invalid plan file \(path): missing field \"\(key.stringValue)\"; \(Self.expectedShape)")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw PlanError("invalid plan file \(path): field \"\(field)\" has the wrong type; \(Self.expectedShape)")
        } catch {
            throw PlanError("invalid plan file \(path): not a JSON object (\(error)); \(Self.expectedShape)")
        }
    }

    /// The example that plan-file errors end with.
    static let expectedShape =
        #"expected {"layers": 30, "attention_dropped": [3], "mlp_dropped": [25]}, as elide submit evopress --out writes it"#

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }
}

public struct PlanError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
