extension ONNXModel {
    /// Serializes the model as an ONNX ModelProto (IR version `irVersion`, default operator set
    /// `opsetVersion`), for writing small models in tests and tools.
    ///
    /// FLOAT values are written as raw_data; integer values go to int64_data (INT64), uint64_data (UINT32,
    /// UINT64) or int32_data (the narrower types), as the ONNX specification assigns them; undecoded values
    /// are written back as raw_data. Tensors are written as given, without checking dims against values.
    public func serialized() -> [UInt8] {
        var graph = ProtobufWriter()
        for node in nodes {
            graph.message(1, Self.encode(node))
        }
        graph.string(2, graphName)
        for name in initializers.keys.sorted() {
            graph.message(5, Self.encode(initializers[name]!))  // !-safe: the key comes from the dictionary
        }
        for input in inputs {
            graph.message(11, Self.encode(input))
        }
        for output in outputs {
            graph.message(12, Self.encode(output))
        }

        var model = ProtobufWriter()
        model.varint(1, UInt64(irVersion))
        model.string(2, producerName)
        model.string(3, producerVersion)
        model.message(7, graph.bytes)
        if let opsetVersion {
            var opset = ProtobufWriter()
            opset.string(1, "")
            opset.varint(2, UInt64(opsetVersion))
            model.message(8, opset.bytes)
        }
        return model.bytes
    }

    private static func encode(_ node: ONNXNode) -> [UInt8] {
        var writer = ProtobufWriter()
        for input in node.inputs { writer.string(1, input) }
        for output in node.outputs { writer.string(2, output) }
        writer.string(3, node.name)
        writer.string(4, node.opType)
        for name in node.attributes.keys.sorted() {
            writer.message(5, encode(node.attributes[name]!, name: name))  // !-safe: the key comes from the dictionary
        }
        if !node.domain.isEmpty { writer.string(7, node.domain) }
        return writer.bytes
    }

    private static func encode(_ attribute: ONNXAttribute, name: String) -> [UInt8] {
        var writer = ProtobufWriter()
        writer.string(1, name)
        let type: UInt64
        switch attribute {
        case .float(let value):
            writer.fixed32(2, value.bitPattern)
            type = 1
        case .int(let value):
            writer.varint(3, UInt64(bitPattern: value))
            type = 2
        case .string(let value):
            writer.bytes(4, Array(value.utf8))
            type = 3
        case .tensor(let tensor):
            writer.message(5, encode(tensor))
            type = 4
        case .floats(let values):
            writer.packedFloats(7, values)
            type = 6
        case .ints(let values):
            writer.packedVarints(8, values.map { UInt64(bitPattern: $0) })
            type = 7
        case .strings(let values):
            for value in values { writer.bytes(9, Array(value.utf8)) }
            type = 8
        case .tensors(let tensors):
            for tensor in tensors { writer.message(10, encode(tensor)) }
            type = 9
        case .undecoded(let value):
            type = UInt64(value)
        }
        writer.varint(20, type)
        return writer.bytes
    }

    private static func encode(_ tensor: ONNXTensor) -> [UInt8] {
        var writer = ProtobufWriter()
        writer.packedVarints(1, tensor.dims.map { UInt64($0) })
        writer.varint(2, UInt64(tensor.dataType.rawValue))
        writer.string(8, tensor.name)
        switch tensor.storage {
        case .floats(let values):
            writer.bytes(9, values.withUnsafeBytes { Array($0) })
        case .integers(let values):
            switch tensor.dataType {
            case .int64: writer.packedVarints(7, values.map { UInt64(bitPattern: $0) })
            case .uint32, .uint64: writer.packedVarints(11, values.map { UInt64(bitPattern: $0) })
            default: writer.packedVarints(5, values.map { UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: $0))) })
            }
        case .undecoded(let raw):
            writer.bytes(9, raw)
        }
        return writer.bytes
    }

    private static func encode(_ info: ONNXValueInfo) -> [UInt8] {
        var tensorType = ProtobufWriter()
        if let elementType = info.elementType {
            tensorType.varint(1, UInt64(elementType.rawValue))
        }
        if let shape = info.shape {
            var shapeWriter = ProtobufWriter()
            for dimension in shape {
                var dimensionWriter = ProtobufWriter()
                switch dimension {
                case .fixed(let size): dimensionWriter.varint(1, UInt64(size))
                case .symbolic(let name): dimensionWriter.string(2, name)
                case .unknown: break
                }
                shapeWriter.message(1, dimensionWriter.bytes)
            }
            tensorType.message(2, shapeWriter.bytes)
        }
        var type = ProtobufWriter()
        type.message(1, tensorType.bytes)

        var writer = ProtobufWriter()
        writer.string(1, info.name)
        writer.message(2, type.bytes)
        return writer.bytes
    }
}

/// Appends protobuf wire-format fields to a byte array.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    private mutating func rawVarint(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        bytes.append(UInt8(remaining))
    }

    private mutating func key(_ field: Int, _ wireType: UInt64) {
        rawVarint(UInt64(field) << 3 | wireType)
    }

    mutating func varint(_ field: Int, _ value: UInt64) {
        key(field, 0)
        rawVarint(value)
    }

    mutating func fixed32(_ field: Int, _ value: UInt32) {
        key(field, 5)
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        key(field, 2)
        rawVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ field: Int, _ value: String) {
        bytes(field, Array(value.utf8))
    }

    mutating func message(_ field: Int, _ encoded: [UInt8]) {
        bytes(field, encoded)
    }

    mutating func packedVarints(_ field: Int, _ values: [UInt64]) {
        guard !values.isEmpty else { return }
        var packed = ProtobufWriter()
        for value in values { packed.rawVarint(value) }
        bytes(field, packed.bytes)
    }

    mutating func packedFloats(_ field: Int, _ values: [Float]) {
        guard !values.isEmpty else { return }
        var packed: [UInt8] = []
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { packed.append(contentsOf: $0) }
        }
        bytes(field, packed)
    }
}
