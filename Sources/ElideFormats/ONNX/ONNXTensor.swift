/// An ONNX tensor element type: the `TensorProto.DataType` value from the ONNX specification.
public struct ONNXDataType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let undefined = ONNXDataType(rawValue: 0)
    public static let float = ONNXDataType(rawValue: 1)
    public static let uint8 = ONNXDataType(rawValue: 2)
    public static let int8 = ONNXDataType(rawValue: 3)
    public static let uint16 = ONNXDataType(rawValue: 4)
    public static let int16 = ONNXDataType(rawValue: 5)
    public static let int32 = ONNXDataType(rawValue: 6)
    public static let int64 = ONNXDataType(rawValue: 7)
    public static let string = ONNXDataType(rawValue: 8)
    public static let bool = ONNXDataType(rawValue: 9)
    public static let float16 = ONNXDataType(rawValue: 10)
    public static let double = ONNXDataType(rawValue: 11)
    public static let uint32 = ONNXDataType(rawValue: 12)
    public static let uint64 = ONNXDataType(rawValue: 13)

    private static let names: [Int32: String] = [
        0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64",
        8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64",
        15: "COMPLEX128", 16: "BFLOAT16",
    ]

    public var description: String {
        Self.names[rawValue] ?? "data type \(rawValue)"
    }
}

/// A dense ONNX tensor (an initializer or the value of a `Constant` node), decoded into Swift arrays.
public struct ONNXTensor: Sendable, Equatable {
    /// The decoded values.
    public enum Storage: Sendable, Equatable {
        /// FLOAT and DOUBLE tensors (DOUBLE rounded to Float).
        case floats([Float])
        /// Integer and BOOL tensors, widened to Int64 (UINT64 values above Int64.max wrap).
        case integers([Int64])
        /// Any other element type (FLOAT16, BFLOAT16, STRING, ...): raw_data as stored, or empty.
        case undecoded([UInt8])
    }

    public var name: String
    /// Dimensions, outermost first; empty for a scalar.
    public var dims: [Int]
    public var dataType: ONNXDataType
    public var storage: Storage

    public init(name: String, dims: [Int], dataType: ONNXDataType, storage: Storage) {
        self.name = name
        self.dims = dims
        self.dataType = dataType
        self.storage = storage
    }

    /// Creates a FLOAT tensor.
    public init(name: String, dims: [Int], floats: [Float]) {
        self.init(name: name, dims: dims, dataType: .float, storage: .floats(floats))
    }

    /// Creates an INT64 tensor.
    public init(name: String, dims: [Int], integers: [Int64]) {
        self.init(name: name, dims: dims, dataType: .int64, storage: .integers(integers))
    }

    /// The number of elements: the product of `dims` (1 for a scalar).
    public var elementCount: Int {
        dims.reduce(1, *)
    }

    /// The values of a FLOAT or DOUBLE tensor, or nil for other element types.
    public var floatValues: [Float]? {
        if case .floats(let values) = storage { return values }
        return nil
    }

    /// The values of an integer or BOOL tensor, or nil for other element types.
    public var integerValues: [Int64]? {
        if case .integers(let values) = storage { return values }
        return nil
    }
}
