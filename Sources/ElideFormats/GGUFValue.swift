/// A GGUF metadata value.
///
/// The case names follow the GGUF value types; `Equatable` compares floats numerically, so a NaN value
/// is not equal to itself.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    case array(GGUFArray)
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    /// The GGUF type of this value.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }
}

// MARK: - Typed accessors

extension GGUFValue {
    /// The value of any integer type as an `Int`; nil for other types and for a `uint64` above `Int.max`.
    public var intValue: Int? {
        switch self {
        case .uint8(let value): return Int(value)
        case .int8(let value): return Int(value)
        case .uint16(let value): return Int(value)
        case .int16(let value): return Int(value)
        case .uint32(let value): return Int(value)
        case .int32(let value): return Int(value)
        case .uint64(let value): return Int(exactly: value)
        case .int64(let value): return Int(value)
        case .float32, .float64, .bool, .string, .array: return nil
        }
    }

    /// The value of a float type, or of an integer type converted to `Double`; nil for bools, strings and arrays.
    public var floatValue: Double? {
        switch self {
        case .float32(let value): return Double(value)
        case .float64(let value): return value
        case .bool, .string, .array: return nil
        default: return intValue.map(Double.init) ?? uint64Value.map(Double.init)
        }
    }

    /// The value of a `bool`; nil for every other type.
    public var boolValue: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }

    /// The value of a `string`; nil for every other type.
    public var stringValue: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    /// The array, if this value is one.
    public var arrayValue: GGUFArray? {
        guard case .array(let value) = self else { return nil }
        return value
    }

    /// The elements of an array of strings; nil for every other value.
    public var stringArray: [String]? {
        guard case .array(.string(let values)) = self else { return nil }
        return values
    }

    /// The elements of an array of any integer type as `Int`; nil for other values and when a `uint64`
    /// element exceeds `Int.max`.
    public var intArray: [Int]? {
        guard case .array(let array) = self else { return nil }
        switch array {
        case .uint8(let values): return values.map { Int($0) }
        case .int8(let values): return values.map { Int($0) }
        case .uint16(let values): return values.map { Int($0) }
        case .int16(let values): return values.map { Int($0) }
        case .uint32(let values): return values.map { Int($0) }
        case .int32(let values): return values.map { Int($0) }
        case .int64(let values): return values.map { Int($0) }
        case .uint64(let values):
            var result: [Int] = []
            result.reserveCapacity(values.count)
            for value in values {
                guard let converted = Int(exactly: value) else { return nil }
                result.append(converted)
            }
            return result
        case .float32, .float64, .bool, .string, .array: return nil
        }
    }

    /// The elements of a `float32` array, or of a `float64` array rounded to `Float`; nil for every other value.
    public var floatArray: [Float]? {
        switch self {
        case .array(.float32(let values)): return values
        case .array(.float64(let values)): return values.map { Float($0) }
        default: return nil
        }
    }

    private var uint64Value: UInt64? {
        guard case .uint64(let value) = self else { return nil }
        return value
    }
}
