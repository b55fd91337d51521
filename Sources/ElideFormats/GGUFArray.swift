/// A GGUF metadata array: one element type and the elements, stored as a typed Swift array.
///
/// Typed storage keeps large arrays cheap: SmolLM2's 49,152 tokens are one `[String]`, not 49,152
/// boxed values. An array of arrays contains inner arrays that may each have a different element type.
public enum GGUFArray: Sendable, Equatable {
    case uint8([UInt8])
    case int8([Int8])
    case uint16([UInt16])
    case int16([Int16])
    case uint32([UInt32])
    case int32([Int32])
    case float32([Float])
    case bool([Bool])
    case string([String])
    case array([GGUFArray])
    case uint64([UInt64])
    case int64([Int64])
    case float64([Double])

    /// The type of every element.
    public var elementType: GGUFValueType {
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

    /// Number of elements.
    public var count: Int {
        switch self {
        case .uint8(let values): return values.count
        case .int8(let values): return values.count
        case .uint16(let values): return values.count
        case .int16(let values): return values.count
        case .uint32(let values): return values.count
        case .int32(let values): return values.count
        case .float32(let values): return values.count
        case .bool(let values): return values.count
        case .string(let values): return values.count
        case .array(let values): return values.count
        case .uint64(let values): return values.count
        case .int64(let values): return values.count
        case .float64(let values): return values.count
        }
    }

    /// The elements as individual values; allocates one `GGUFValue` per element, so prefer the typed
    /// accessors of `GGUFValue` (`stringArray`, `intArray`, `floatArray`) for large arrays.
    public var values: [GGUFValue] {
        switch self {
        case .uint8(let values): return values.map { .uint8($0) }
        case .int8(let values): return values.map { .int8($0) }
        case .uint16(let values): return values.map { .uint16($0) }
        case .int16(let values): return values.map { .int16($0) }
        case .uint32(let values): return values.map { .uint32($0) }
        case .int32(let values): return values.map { .int32($0) }
        case .float32(let values): return values.map { .float32($0) }
        case .bool(let values): return values.map { .bool($0) }
        case .string(let values): return values.map { .string($0) }
        case .array(let values): return values.map { .array($0) }
        case .uint64(let values): return values.map { .uint64($0) }
        case .int64(let values): return values.map { .int64($0) }
        case .float64(let values): return values.map { .float64($0) }
        }
    }

    /// Nesting depth of arrays in this one: 1 for an array of scalars or strings.
    var nestingDepth: Int {
        guard case .array(let inner) = self else { return 1 }
        return 1 + (inner.map(\.nestingDepth).max() ?? 0)
    }
}
