import Foundation

extension VisionPolicy: Codable {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// JSON fields each method accepts besides `method`; other fields are rejected so typos do not pass silently.
    static let fieldsByMethod: [String: Set<String>] = [
        "none": [],
        "top-k": ["keep_rate", "reduction_layers"],
        "evit": ["keep_rate", "reduction_layers"],
        "clca": ["keep_rate", "reduction_layers"],
        "hired": ["budget", "alpha", "allocation_layer", "ranking_layer", "partitions_per_side"],
        "random": ["budget", "alpha", "allocation_layer", "ranking_layer", "partitions_per_side", "seed"],
        "spatial": ["budget", "alpha", "allocation_layer", "ranking_layer", "partitions_per_side"],
        "yopo": ["window", "window_layers", "pruned_heads", "cls_only_from_layer"],
    ]

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        let method = try container.decode(String.self, forKey: AnyKey(stringValue: "method"))
        guard let allowed = Self.fieldsByMethod[method] else {
            throw VisionPolicyError(
                field: "method",
                "unknown method '\(method)'; expected one of \(Self.fieldsByMethod.keys.sorted().joined(separator: ", "))"
            )
        }
        for key in container.allKeys where key.stringValue != "method" && !allowed.contains(key.stringValue) {
            throw VisionPolicyError(
                field: key.stringValue,
                "field \(key.stringValue) does not apply to method \(method); it accepts "
                    + (allowed.isEmpty ? "no other field" : allowed.sorted().joined(separator: ", ")))
        }
        switch method {
        case "none": self = .none
        case "top-k": self = .topK(try TokenReductionSettings(from: decoder))
        case "evit": self = .evit(try TokenReductionSettings(from: decoder))
        case "clca": self = .clca(try TokenReductionSettings(from: decoder))
        case "yopo": self = .yopo(try YOPOSettings(from: decoder))
        default:
            var settings = try HiREDSettings(from: decoder)
            if method == "random" {
                let seed = try container.decodeIfPresent(UInt64.self, forKey: AnyKey(stringValue: "seed")) ?? 0
                settings.selection = .random(seed: seed)
            } else if method == "spatial" {
                settings.selection = .spatial
            }
            self = .hired(settings)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(methodName, forKey: AnyKey(stringValue: "method"))
        switch self {
        case .none: break
        case .topK(let settings), .evit(let settings), .clca(let settings): try settings.encode(to: encoder)
        case .yopo(let settings): try settings.encode(to: encoder)
        case .hired(let settings):
            try settings.encode(to: encoder)
            if case .random(let seed) = settings.selection {
                try container.encode(seed, forKey: AnyKey(stringValue: "seed"))
            }
        }
    }
}

extension VisionPolicy {
    /// Reads one policy, or a JSON array of policies, from a file; errors name the file and the field.
    public static func load(path: String) throws -> [VisionPolicy] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VisionPolicyError(
                field: nil, "cannot read vision policy file \(path): file not found or not readable")
        }
        return try decode(data, source: "vision policy file \(path)")
    }

    /// Decodes one policy object or an array of them; errors name `source`.
    public static func decode(_ data: Data, source: String) throws -> [VisionPolicy] {
        let policies: [VisionPolicy]
        do {
            let trimmed = data.first { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
            if trimmed == UInt8(ascii: "[") {
                policies = try JSONDecoder().decode([VisionPolicy].self, from: data)
            } else {
                policies = [try JSONDecoder().decode(VisionPolicy.self, from: data)]
            }
        } catch let error as VisionPolicyError {
            throw VisionPolicyError(field: error.field, "invalid \(source): \(error)")
        } catch let error as DecodingError {
            let (field, problem) = describe(error)
            throw VisionPolicyError(
                field: field,
                "invalid \(source): \(problem); expected an object such as "
                    + #"{"method": "evit", "keep_rate": 0.5, "reduction_layers": [3, 6, 9]}"#)
        }
        for policy in policies {
            do {
                try policy.validateFields()
            } catch let error as VisionPolicyError {
                throw VisionPolicyError(field: error.field, "invalid \(source): \(error)")
            }
        }
        return policies
    }

    /// Encodes the policy as one line of JSON with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    private static func describe(_ error: DecodingError) -> (field: String?, problem: String) {
        switch error {
        case .keyNotFound(let key, _):
            return (key.stringValue, "the field \(key.stringValue) is missing")
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let field = context.codingPath.last { $0.intValue == nil }?.stringValue
            return (field, "the field \(field ?? "at the top level") is not a valid \(type)")
        case .dataCorrupted(let context):
            if let field = context.codingPath.last?.stringValue {
                return (field, "the field \(field) has an invalid value (\(context.debugDescription))")
            }
            return (nil, "the file is not valid JSON")
        @unknown default:
            return (nil, "\(error)")
        }
    }
}
