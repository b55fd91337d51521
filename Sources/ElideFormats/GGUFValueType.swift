/// Type ids of GGUF metadata values, as stored in the file (a little-endian `UInt32`).
public enum GGUFValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0
    case int8 = 1
    case uint16 = 2
    case int16 = 3
    case uint32 = 4
    case int32 = 5
    case float32 = 6
    case bool = 7
    case string = 8
    case array = 9
    case uint64 = 10
    case int64 = 11
    case float64 = 12

    /// Encoded size of one value of a fixed-size type; nil for strings and arrays.
    var fixedByteCount: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// Fewest bytes one value of this type can occupy: a string needs its 8-byte length, an array its
    /// 4-byte element type and 8-byte count. Bounds the capacity reserved for a count read from a file.
    var minimumByteCount: Int {
        switch self {
        case .string: return 8
        case .array: return 12
        default: return fixedByteCount ?? 1
        }
    }

    /// The lower-case name used in reports (`uint32`, `string`, …).
    public var description: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float64: return "float64"
        }
    }
}
