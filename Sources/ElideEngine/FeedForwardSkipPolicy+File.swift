import ElideModels
import Foundation

extension FeedForwardSkipPolicy {
    /// Reads a policy from a JSON file and checks the fields that are invalid for any model; errors name
    /// the file and the field. Call `validate(layerCount:)` once the model is known.
    public static func load(path: String) throws -> FeedForwardSkipPolicy {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FeedForwardSkipPolicyError(
                field: nil, "cannot read FFN skip policy file \(path): file not found or not readable")
        }
        return try parse(data, source: "FFN skip policy file \(path)")
    }

    /// Decodes a policy from JSON as `load(path:)` does; errors name `source`, for example a file.
    public static func parse(_ data: Data, source: String) throws -> FeedForwardSkipPolicy {
        let policy: FeedForwardSkipPolicy
        do {
            policy = try decoder.decode(FeedForwardSkipPolicy.self, from: data)
        } catch let error as DecodingError {
            let (field, problem) = describe(error)
            throw FeedForwardSkipPolicyError(
                field: field,
                "invalid \(source): \(problem); expected an object such as "
                    + #"{"warmup_tokens": 16, "cold_start": 3, "cold_end": 2, "threshold": 0.97, "skip_count": 2}"#)
        }
        do {
            try policy.validateFields()
        } catch let error as FeedForwardSkipPolicyError {
            throw FeedForwardSkipPolicyError(field: error.field, "invalid \(source): \(error)")
        }
        return policy
    }

    /// Writes the policy as JSON with sorted keys; an infinite threshold is written as the string "+inf".
    public func write(to path: String) throws {
        do {
            var data = try jsonData()
            data.append(UInt8(ascii: "\n"))
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw FeedForwardSkipPolicyError(field: nil, "cannot write FFN skip policy file \(path): \(error)")
        }
    }

    /// Encodes the policy as JSON with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "+inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "+inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// Returns the JSON field a decoding error concerns and a sentence about it.
    private static func describe(_ error: DecodingError) -> (field: String?, problem: String) {
        switch error {
        case .keyNotFound(let key, _):
            return (key.stringValue, "the field \(key.stringValue) is missing")
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let field = context.codingPath.last?.stringValue
            return (field, "the field \(field ?? "at the top level") is not a valid \(type)")
        case .dataCorrupted(let context):
            if let field = context.codingPath.last?.stringValue {
                return (field, "the field \(field) has an invalid value")
            }
            return (nil, "the file is not valid JSON")
        @unknown default:
            return (nil, "\(error)")
        }
    }
}
