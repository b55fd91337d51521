extension WireMessage.TensorDType {
    /// Values per storage block and bytes per block: 1 value for plain types, 32 for the GGML block formats.
    /// It is nil for `.unspecified`.
    public var blockLayout: (values: Int, bytes: Int)? {
        switch self {
        case .unspecified: return nil
        case .f32, .i32: return (1, 4)
        case .f16, .bf16, .i16: return (1, 2)
        case .f64, .i64: return (1, 8)
        case .i8, .u8: return (1, 1)
        // GGML: Q4_0 = f16 scale + 16 bytes of nibbles; Q4_1 adds an f16 minimum; Q8_0 = f16 scale + 32 bytes.
        case .q4_0: return (32, 18)
        case .q4_1: return (32, 20)
        case .q8_0: return (32, 34)
        }
    }

    /// Computes the bytes that `shape` takes in this dtype.
    ///
    /// - Returns: nil for `.unspecified`, a negative dimension, a value count that is not a whole number of
    ///   blocks, or a size that overflows `Int`.
    public func byteCount(shape: [Int]) -> Int? {
        guard let layout = blockLayout else { return nil }
        var values = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = values.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            values = product
        }
        guard values % layout.values == 0 else { return nil }
        let (bytes, overflow) = (values / layout.values).multipliedReportingOverflow(by: layout.bytes)
        return overflow ? nil : bytes
    }
}

/// A tensor as the wire carries it: element type, shape and the raw bytes in the dtype's own layout
/// (little-endian, row-major, GGML blocks kept as they are).
public struct WireTensor: Sendable, Equatable {
    public let dtype: WireMessage.TensorDType
    public let shape: [Int]
    public let bytes: [UInt8]

    /// - Throws: `TensorCodecError.sizeMismatch` when `bytes.count` does not match `dtype` and `shape`.
    public init(dtype: WireMessage.TensorDType, shape: [Int], bytes: [UInt8]) throws {
        guard let expected = dtype.byteCount(shape: shape) else {
            throw TensorCodecError.invalidLayout(dtype: dtype, shape: shape)
        }
        guard expected == bytes.count else {
            throw TensorCodecError.sizeMismatch(
                dtype: dtype, shape: shape, expectedBytes: expected, actualBytes: bytes.count)
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Creates a Float32 tensor from `values`, stored little-endian.
    public init(float32 values: [Float], shape: [Int]) throws {
        var bytes = [UInt8]()
        bytes.reserveCapacity(values.count * 4)
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        try self.init(dtype: .f32, shape: shape, bytes: bytes)
    }

    /// Returns the values of an `.f32` tensor, or nil for any other dtype.
    public func float32Values() -> [Float]? {
        guard dtype == .f32 else { return nil }
        return stride(from: 0, to: bytes.count, by: 4).map { offset in
            let bits =
                UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
                | UInt32(bytes[offset + 3]) << 24
            return Float(bitPattern: bits)
        }
    }
}
