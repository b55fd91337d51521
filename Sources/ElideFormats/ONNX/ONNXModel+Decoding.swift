import CProtobufC
import ElideProto

extension ONNXModel {
    /// One protobuf message may not exceed 2 GiB; ONNX models above that keep weights in external files.
    static let maximumFileBytes = Int(Int32.max)

    /// Reads the ONNX model at `path`.
    ///
    /// - Throws: `ONNXError` when the file cannot be read, exceeds 2 GiB, is not an ONNX protobuf, has no
    ///   graph, keeps tensors in external files, or contains a tensor whose data does not match its dims.
    public static func load(path: String) throws -> ONNXModel {
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch let error as GGUFError {
            throw ONNXError(.cannotOpen, path: path, problem: error.problem)
        }
        return try decode(file.bytes, path: path)
    }

    /// Decodes a serialized ONNX ModelProto; `path` only names the source in errors.
    public static func decode(_ bytes: UnsafeRawBufferPointer, path: String? = nil) throws -> ONNXModel {
        guard bytes.count <= maximumFileBytes else {
            throw ONNXError(
                .tooLarge, path: path,
                problem: "it has \(bytes.count) bytes, more than the 2 GiB limit of one protobuf message")
        }
        guard bytes.count > 0 else {
            throw ONNXError(.invalidProtobuf, path: path, problem: "the file is empty")
        }
        guard let base = bytes.baseAddress,
            let message = onnx__model_proto__unpack(nil, bytes.count, base.assumingMemoryBound(to: UInt8.self))
        else {
            throw ONNXError(
                .invalidProtobuf, path: path, problem: "protobuf-c failed to parse it as an ONNX ModelProto")
        }
        defer { onnx__model_proto__free_unpacked(message, nil) }
        return try ONNXProtoDecoder(path: path).model(message.pointee)
    }
}

/// Copies a parsed protobuf-c ONNX message tree into Swift values.
private struct ONNXProtoDecoder {
    let path: String?

    func model(_ proto: Onnx__ModelProto) throws -> ONNXModel {
        guard let graphPointer = proto.graph else {
            throw ONNXError(.missingGraph, path: path, problem: "the ModelProto has no graph")
        }
        let graph = graphPointer.pointee
        var opsetVersion: Int?
        for opset in messages(proto.opset_import, proto.n_opset_import) {
            let domain = text(opset.domain)
            if domain.isEmpty || domain == "ai.onnx" {
                opsetVersion = Int(opset.version)
            }
        }

        var initializers: [String: ONNXTensor] = [:]
        for tensorProto in messages(graph.initializer, graph.n_initializer) {
            let decoded = try tensor(tensorProto)
            guard initializers[decoded.name] == nil else {
                throw ONNXError(
                    .duplicateInitializer, path: path, tensorName: decoded.name,
                    problem: "two initializers have this name")
            }
            initializers[decoded.name] = decoded
        }
        let nodes = try messages(graph.node, graph.n_node).map(node)
        return ONNXModel(
            path: path,
            irVersion: Int(proto.ir_version),
            opsetVersion: opsetVersion,
            producerName: text(proto.producer_name),
            producerVersion: text(proto.producer_version),
            graphName: text(graph.name),
            nodes: nodes,
            initializers: initializers,
            inputs: messages(graph.input, graph.n_input).map(valueInfo),
            outputs: messages(graph.output, graph.n_output).map(valueInfo))
    }

    func node(_ proto: Onnx__NodeProto) throws -> ONNXNode {
        var attributes: [String: ONNXAttribute] = [:]
        for attributeProto in messages(proto.attribute, proto.n_attribute) {
            attributes[text(attributeProto.name)] = try attribute(attributeProto)
        }
        return ONNXNode(
            name: text(proto.name), opType: text(proto.op_type), domain: text(proto.domain),
            inputs: texts(proto.input, proto.n_input), outputs: texts(proto.output, proto.n_output),
            attributes: attributes)
    }

    func attribute(_ proto: Onnx__AttributeProto) throws -> ONNXAttribute {
        switch proto.type.rawValue {
        case 1: return .float(proto.f)
        case 2: return .int(proto.i)
        case 3: return .string(String(decoding: bytes(proto.s), as: UTF8.self))
        case 4:
            guard let tensorPointer = proto.t else { return .undecoded(type: 4) }
            return .tensor(try tensor(tensorPointer.pointee))
        case 6: return .floats(array(proto.floats, proto.n_floats))
        case 7: return .ints(array(proto.ints, proto.n_ints))
        case 8:
            return .strings(array(proto.strings, proto.n_strings).map { String(decoding: bytes($0), as: UTF8.self) })
        case 9: return .tensors(try messages(proto.tensors, proto.n_tensors).map(tensor))
        default: return .undecoded(type: Int32(bitPattern: proto.type.rawValue))
        }
    }

    func valueInfo(_ proto: Onnx__ValueInfoProto) -> ONNXValueInfo {
        let name = text(proto.name)
        guard let type = proto.type?.pointee, type.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
            let tensorType = type.tensor_type?.pointee
        else {
            return ONNXValueInfo(name: name, elementType: nil, shape: nil)
        }
        let elementType = tensorType.has_elem_type != 0 ? ONNXDataType(rawValue: tensorType.elem_type) : nil
        let shape = tensorType.shape.map { shapePointer in
            messages(shapePointer.pointee.dim, shapePointer.pointee.n_dim).map { dimension -> ONNXValueInfo.Dimension in
                switch dimension.value_case {
                case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE: return .fixed(Int(dimension.dim_value))
                case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM: return .symbolic(text(dimension.dim_param))
                default: return .unknown
                }
            }
        }
        return ONNXValueInfo(name: name, elementType: elementType, shape: shape)
    }

    // MARK: - Tensors

    func tensor(_ proto: Onnx__TensorProto) throws -> ONNXTensor {
        let name = text(proto.name)
        if proto.has_data_location != 0, proto.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL {
            throw ONNXError(.externalData, path: path, tensorName: name, problem: "its values are in an external file")
        }
        let dims = array(proto.dims, proto.n_dims).map { Int($0) }
        guard dims.allSatisfy({ $0 >= 0 }) else {
            throw ONNXError(.invalidTensor, path: path, tensorName: name, problem: "dims \(dims) has a negative size")
        }
        let count = dims.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        let dataType = ONNXDataType(rawValue: proto.data_type)
        let raw = proto.has_raw_data != 0 ? bytes(proto.raw_data) : nil
        let storage: ONNXTensor.Storage
        switch dataType {
        case .float:
            storage = .floats(try values(raw, typed: array(proto.float_data, proto.n_float_data), name, count, dims))
        case .double:
            let doubles: [Double] = try values(
                raw, typed: array(proto.double_data, proto.n_double_data), name, count, dims)
            storage = .floats(doubles.map { Float($0) })
        case .int64:
            storage = .integers(try values(raw, typed: array(proto.int64_data, proto.n_int64_data), name, count, dims))
        case .int32, .int16, .int8, .uint16, .uint8, .bool:
            storage = .integers(try smallIntegers(proto, raw: raw, dataType: dataType, name, count, dims))
        case .uint32, .uint64:
            if let raw {
                storage = .integers(
                    dataType == .uint32
                        ? try decodeRaw(raw, as: UInt32.self, name, count, dims).map { Int64($0) }
                        : try decodeRaw(raw, as: UInt64.self, name, count, dims).map { Int64(bitPattern: $0) })
            } else {
                let typed: [UInt64] = try values(
                    nil, typed: array(proto.uint64_data, proto.n_uint64_data), name, count, dims)
                storage = .integers(typed.map { Int64(bitPattern: $0) })
            }
        default:
            storage = .undecoded(raw ?? [])
        }
        return ONNXTensor(name: name, dims: dims, dataType: dataType, storage: storage)
    }

    /// INT32, INT16, INT8, UINT16, UINT8 and BOOL: raw_data in the type's own width, or int32_data.
    private func smallIntegers(
        _ proto: Onnx__TensorProto, raw: [UInt8]?, dataType: ONNXDataType, _ name: String, _ count: Int, _ dims: [Int]
    ) throws -> [Int64] {
        guard let raw else {
            let typed: [Int32] = try values(nil, typed: array(proto.int32_data, proto.n_int32_data), name, count, dims)
            return typed.map { Int64($0) }
        }
        switch dataType {
        case .int32: return try decodeRaw(raw, as: Int32.self, name, count, dims).map { Int64($0) }
        case .int16: return try decodeRaw(raw, as: Int16.self, name, count, dims).map { Int64($0) }
        case .uint16: return try decodeRaw(raw, as: UInt16.self, name, count, dims).map { Int64($0) }
        case .int8: return try decodeRaw(raw, as: Int8.self, name, count, dims).map { Int64($0) }
        default: return try decodeRaw(raw, as: UInt8.self, name, count, dims).map { Int64($0) }
        }
    }

    /// Returns the values from raw_data when present, else from the typed field, checked against the element count.
    private func values<T>(_ raw: [UInt8]?, typed: [T], _ name: String, _ count: Int, _ dims: [Int]) throws -> [T] {
        if let raw {
            return try decodeRaw(raw, as: T.self, name, count, dims)
        }
        guard typed.count == count else {
            throw ONNXError(
                .invalidTensor, path: path, tensorName: name,
                problem: "it holds \(typed.count) values but dims \(dims) need \(count)")
        }
        return typed
    }

    /// Reinterprets little-endian raw_data as `count` values of `T` (Elide runs on little-endian machines).
    private func decodeRaw<T>(_ raw: [UInt8], as type: T.Type, _ name: String, _ count: Int, _ dims: [Int]) throws
        -> [T]
    {
        let size = MemoryLayout<T>.stride
        guard count < Int.max / size, raw.count == count * size else {
            throw ONNXError(
                .invalidTensor, path: path, tensorName: name,
                problem: "raw_data holds \(raw.count) bytes but dims \(dims) need \(count) values of \(size) bytes")
        }
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            raw.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            }
            initialized = count
        }
    }

    // MARK: - protobuf-c accessors

    private func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }

    private func texts(_ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ count: Int) -> [String] {
        array(pointer, count).map(text)
    }

    private func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let base = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    private func array<T>(_ pointer: UnsafeMutablePointer<T>?, _ count: Int) -> [T] {
        guard count > 0, let pointer else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    private func messages<T>(_ pointer: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?, _ count: Int) -> [T] {
        array(pointer, count).compactMap { $0?.pointee }
    }
}
