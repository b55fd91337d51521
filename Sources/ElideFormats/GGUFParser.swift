import ElideTensor

/// Parses and validates the header, metadata and tensor infos of a GGUF file held in memory.
///
/// GGUF v2 and v3 files (little-endian) contain, in order:
/// - the magic `GGUF`, a `UInt32` version, a `UInt64` tensor count and a `UInt64` metadata count;
/// - the metadata entries: key string, `UInt32` value type, value;
/// - the tensor infos: name string, `UInt32` dimension count, one `UInt64` per dimension, `UInt32` ggml
///   type, `UInt64` data offset;
/// - padding up to the alignment, then the tensor data.
///
/// Data offsets count from the start of the data section. The parser only checks the bounds of the
/// tensor data and never reads its bytes.
struct GGUFParser {
    /// Everything the parser extracts; tensor offsets are absolute.
    struct Contents {
        var version: UInt32
        var alignment: Int
        var metadataKeys: [String]
        var metadata: [String: GGUFValue]
        var tensors: [GGUFTensorInfo]
        var dataOffset: Int
    }

    /// A tensor info as read, before the data section's position is known.
    private struct RawTensorInfo {
        var name: String
        var dimensions: [Int]
        var type: GGMLType
        var relativeOffset: UInt64
        var elementCount: Int
        var byteCount: Int
        /// Absolute offset of the info's data-offset field, for error messages.
        var offsetFieldOffset: Int
    }

    /// Alignment of the data section and of every tensor's data when `general.alignment` is absent.
    static let defaultAlignment = 32
    /// Maximum nesting of arrays inside arrays that the parser accepts. The limit bounds the parser's
    /// recursion, so a crafted file cannot exhaust the stack.
    static let maximumArrayNesting = 16

    /// Minimum size of one metadata entry in bytes: key length, an empty key, value type, a one-byte value.
    private static let minimumMetadataEntryBytes = 8 + 4 + 1
    /// Minimum size of one tensor info in bytes: name length, an empty name, dimension count, one
    /// dimension, type and data offset.
    private static let minimumTensorInfoBytes = 8 + 4 + 8 + 4 + 8

    private var reader: GGUFByteReader
    private let path: String

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.reader = GGUFByteReader(bytes: bytes, path: path)
        self.path = path
    }

    mutating func parse() throws -> Contents {
        let version = try readHeaderStart()

        let tensorCountOffset = reader.offset
        let rawTensorCount = try reader.readUInt64("the tensor count in the header")
        let metadataCountOffset = reader.offset
        let rawMetadataCount = try reader.readUInt64("the metadata entry count in the header")
        let metadataCount = try reader.checkedCount(
            rawMetadataCount, at: metadataCountOffset, what: "the metadata entry count")
        let tensorCount = try reader.checkedCount(rawTensorCount, at: tensorCountOffset, what: "the tensor count")

        let (metadataKeys, metadata) = try readMetadata(count: metadataCount)
        let alignment = try alignment(from: metadata)
        let rawTensors = try readTensorInfos(count: tensorCount)

        guard let dataOffset = GGUFByteReader.aligned(reader.offset, to: alignment) else {
            throw GGUFError(
                .invalidMetadata, path: path, metadataKey: "general.alignment",
                problem: "alignment \(alignment) puts the data section beyond any representable offset")
        }
        let tensors = try placeTensors(rawTensors, dataOffset: dataOffset, alignment: alignment)
        try checkNoOverlap(tensors)

        return Contents(
            version: version, alignment: alignment, metadataKeys: metadataKeys, metadata: metadata,
            tensors: tensors, dataOffset: dataOffset)
    }

    // MARK: - Header

    /// Reads the magic and version; returns the version (2 or 3).
    private mutating func readHeaderStart() throws -> UInt32 {
        try reader.require(4, for: "the magic number")
        let magic = Array(reader.bytes[0..<4])
        guard magic == Array("GGUF".utf8) else {
            throw GGUFError(
                .badMagic, path: path, offset: 0,
                problem: "the file starts with \(Self.describeBytes(magic)) instead of the GGUF magic 'GGUF'")
        }
        _ = try reader.readUInt32("the magic number")

        let versionOffset = reader.offset
        let version = try reader.readUInt32("the version")
        switch version {
        case 2, 3:
            // v3 only added big-endian files to v2; the little-endian layout is identical.
            return version
        case 1:
            throw GGUFError(
                .unsupportedVersion, path: path, offset: versionOffset,
                problem: "GGUF version 1 is not supported: it stores counts and lengths as 32-bit values; "
                    + "Elide reads versions 2 and 3")
        default:
            if (1...3).contains(version.byteSwapped) {
                throw GGUFError(
                    .unsupportedVersion, path: path, offset: versionOffset,
                    problem: "the file is big-endian (version \(version.byteSwapped) with swapped bytes); "
                        + "Elide reads little-endian GGUF only")
            }
            throw GGUFError(
                .unsupportedVersion, path: path, offset: versionOffset,
                problem: "unsupported GGUF version \(version); Elide reads versions 2 and 3")
        }
    }

    // MARK: - Metadata

    private mutating func readMetadata(count: Int) throws -> ([String], [String: GGUFValue]) {
        var keys: [String] = []
        var values: [String: GGUFValue] = [:]
        let capacity = reader.reservation(for: count, minimumByteCount: Self.minimumMetadataEntryBytes)
        keys.reserveCapacity(capacity)
        values.reserveCapacity(capacity)

        for index in 0..<count {
            let keyOffset = reader.offset
            let key = try reader.readString("the key of metadata entry \(index) of \(count)")
            guard values[key] == nil else {
                throw GGUFError(
                    .duplicateKey, path: path, offset: keyOffset, metadataKey: key,
                    problem: "metadata entry \(index) repeats a key that an earlier entry already set")
            }
            let type = try readValueType("the value type of metadata key '\(key)'", key: key)
            values[key] = try readValue(of: type, key: key)
            keys.append(key)
        }
        return (keys, values)
    }

    private mutating func readValueType(_ what: @autoclosure () -> String, key: String) throws -> GGUFValueType {
        let typeOffset = reader.offset
        let rawType = try reader.readUInt32(what())
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw GGUFError(
                .unknownValueType, path: path, offset: typeOffset, metadataKey: key,
                problem: "\(what()) is \(rawType), which is not a GGUF value type (0 to 12)")
        }
        return type
    }

    private mutating func readValue(of type: GGUFValueType, key: String) throws -> GGUFValue {
        let what = "the value of metadata key '\(key)'"
        switch type {
        case .uint8: return .uint8(try reader.readInteger(UInt8.self, what))
        case .int8: return .int8(try reader.readInteger(Int8.self, what))
        case .uint16: return .uint16(try reader.readInteger(UInt16.self, what))
        case .int16: return .int16(try reader.readInteger(Int16.self, what))
        case .uint32: return .uint32(try reader.readInteger(UInt32.self, what))
        case .int32: return .int32(try reader.readInteger(Int32.self, what))
        case .uint64: return .uint64(try reader.readInteger(UInt64.self, what))
        case .int64: return .int64(try reader.readInteger(Int64.self, what))
        case .float32: return .float32(Float(bitPattern: try reader.readInteger(UInt32.self, what)))
        case .float64: return .float64(Double(bitPattern: try reader.readInteger(UInt64.self, what)))
        case .string: return .string(try reader.readString(what))
        case .array: return .array(try readArray(key: key, depth: 1))
        case .bool:
            let byteOffset = reader.offset
            let byte = try reader.readUInt8(what)
            return .bool(try Self.bool(from: byte, at: byteOffset, key: key, path: path))
        }
    }

    /// Reads an array's element type, count and elements; `depth` is 1 for a top-level array.
    private mutating func readArray(key: String, depth: Int) throws -> GGUFArray {
        let arrayOffset = reader.offset
        guard depth <= Self.maximumArrayNesting else {
            throw GGUFError(
                .invalidMetadata, path: path, offset: arrayOffset, metadataKey: key,
                problem: "arrays nest more than \(Self.maximumArrayNesting) levels deep")
        }
        let elementType = try readValueType("the element type of an array in metadata key '\(key)'", key: key)
        let countOffset = reader.offset
        let rawCount = try reader.readUInt64("the element count of an array in metadata key '\(key)'")
        let count = try reader.checkedCount(
            rawCount, at: countOffset, what: "the element count of the \(elementType) array in metadata key '\(key)'")
        let what = "the \(count) \(elementType) elements of an array in metadata key '\(key)'"

        switch elementType {
        case .uint8: return .uint8(try reader.readIntegers(UInt8.self, count: count, what))
        case .int8: return .int8(try reader.readIntegers(Int8.self, count: count, what))
        case .uint16: return .uint16(try reader.readIntegers(UInt16.self, count: count, what))
        case .int16: return .int16(try reader.readIntegers(Int16.self, count: count, what))
        case .uint32: return .uint32(try reader.readIntegers(UInt32.self, count: count, what))
        case .int32: return .int32(try reader.readIntegers(Int32.self, count: count, what))
        case .uint64: return .uint64(try reader.readIntegers(UInt64.self, count: count, what))
        case .int64: return .int64(try reader.readIntegers(Int64.self, count: count, what))
        case .float32:
            return .float32(try reader.readIntegers(UInt32.self, count: count, what).map(Float.init(bitPattern:)))
        case .float64:
            return .float64(try reader.readIntegers(UInt64.self, count: count, what).map(Double.init(bitPattern:)))
        case .bool:
            let start = reader.offset
            let bytes = try reader.readIntegers(UInt8.self, count: count, what)
            return .bool(
                try bytes.enumerated().map { index, byte in
                    try Self.bool(from: byte, at: start + index, key: key, path: path)
                })
        case .string:
            var strings: [String] = []
            strings.reserveCapacity(reader.reservation(for: count, minimumByteCount: elementType.minimumByteCount))
            for index in 0..<count {
                strings.append(try reader.readString("string \(index) of the array in metadata key '\(key)'"))
            }
            return .string(strings)
        case .array:
            var arrays: [GGUFArray] = []
            arrays.reserveCapacity(reader.reservation(for: count, minimumByteCount: elementType.minimumByteCount))
            for _ in 0..<count {
                arrays.append(try readArray(key: key, depth: depth + 1))
            }
            return .array(arrays)
        }
    }

    private static func bool(from byte: UInt8, at offset: Int, key: String, path: String) throws -> Bool {
        switch byte {
        case 0: return false
        case 1: return true
        default:
            throw GGUFError(
                .invalidMetadata, path: path, offset: offset, metadataKey: key,
                problem: "a bool is stored as \(byte); GGUF bools are 0 (false) or 1 (true)")
        }
    }

    /// Reads `general.alignment`, a power of two of any integer type (the specification uses `uint32`).
    private func alignment(from metadata: [String: GGUFValue]) throws -> Int {
        guard let value = metadata["general.alignment"] else { return Self.defaultAlignment }
        guard let alignment = value.intValue, alignment > 0, alignment.nonzeroBitCount == 1 else {
            throw GGUFError(
                .invalidMetadata, path: path, metadataKey: "general.alignment",
                problem: "the alignment is \(GGUFFile.summary(of: value)) (\(value.type)); it must be an integer "
                    + "power of two (usually 32)")
        }
        return alignment
    }

    // MARK: - Tensor infos

    private mutating func readTensorInfos(count: Int) throws -> [RawTensorInfo] {
        var infos: [RawTensorInfo] = []
        infos.reserveCapacity(reader.reservation(for: count, minimumByteCount: Self.minimumTensorInfoBytes))
        var names = Set<String>()

        for index in 0..<count {
            let nameOffset = reader.offset
            let name = try reader.readString("the name of tensor \(index) of \(count)")
            guard names.insert(name).inserted else {
                throw GGUFError(
                    .duplicateTensorName, path: path, offset: nameOffset, tensorName: name,
                    problem: "tensor info \(index) repeats the name of an earlier tensor")
            }
            infos.append(try readTensorInfo(named: name))
        }
        return infos
    }

    /// Reads the fields after a tensor's name and validates its shape and type.
    private mutating func readTensorInfo(named name: String) throws -> RawTensorInfo {
        let dimensionCountOffset = reader.offset
        let dimensionCount = try reader.readUInt32("the dimension count of tensor '\(name)'")
        guard (1...UInt32(GGUFTensorInfo.maximumDimensionCount)).contains(dimensionCount) else {
            throw GGUFError(
                .invalidDimensions, path: path, offset: dimensionCountOffset, tensorName: name,
                problem: "the tensor has \(dimensionCount) dimensions; ggml tensors have 1 to "
                    + "\(GGUFTensorInfo.maximumDimensionCount)")
        }

        let dimensionsOffset = reader.offset
        var dimensions: [Int] = []
        for index in 0..<Int(dimensionCount) {
            let fieldOffset = reader.offset
            let raw = try reader.readUInt64("dimension \(index) of tensor '\(name)'")
            // ggml stores dimensions as int64, so a value above Int64.max is a negative size.
            let dimension = Int64(bitPattern: raw)
            guard dimension >= 1, let value = Int(exactly: dimension) else {
                throw GGUFError(
                    .invalidDimensions, path: path, offset: fieldOffset, tensorName: name,
                    problem: "dimension \(index) is \(dimension); every dimension must be at least 1")
            }
            dimensions.append(value)
        }

        let typeOffset = reader.offset
        let rawType = try reader.readUInt32("the type of tensor '\(name)'")
        guard let type = GGMLType(rawValue: rawType) else {
            throw GGUFError(
                .unknownTensorType, path: path, offset: typeOffset, tensorName: name,
                problem: "unknown tensor type id \(rawType)\(Self.ggmlTypeName(rawType).map { " (\($0))" } ?? "")")
        }

        let sizes: (elementCount: Int, byteCount: Int)
        switch GGUFTensorInfo.sizes(dimensions: dimensions, type: type) {
        case .success(let value): sizes = value
        case .failure(let shapeProblem):
            throw GGUFError(
                .invalidDimensions, path: path, offset: dimensionsOffset, tensorName: name,
                problem: "the \(type) tensor of dimensions \(dimensions): \(shapeProblem.message)")
        }

        let offsetFieldOffset = reader.offset
        let relativeOffset = try reader.readUInt64("the data offset of tensor '\(name)'")
        return RawTensorInfo(
            name: name, dimensions: dimensions, type: type, relativeOffset: relativeOffset,
            elementCount: sizes.elementCount, byteCount: sizes.byteCount, offsetFieldOffset: offsetFieldOffset)
    }

    // MARK: - Data layout

    /// Converts relative offsets to absolute ones and checks alignment and bounds.
    private func placeTensors(
        _ rawTensors: [RawTensorInfo], dataOffset: Int, alignment: Int
    ) throws -> [GGUFTensorInfo] {
        let fileSize = reader.bytes.count
        return try rawTensors.map { raw in
            guard raw.relativeOffset % UInt64(alignment) == 0 else {
                throw GGUFError(
                    .misalignedTensor, path: path, offset: raw.offsetFieldOffset, tensorName: raw.name,
                    problem: "the data offset \(raw.relativeOffset) is not a multiple of the alignment \(alignment)")
            }
            guard let relative = Int(exactly: raw.relativeOffset),
                case (let start, false) = dataOffset.addingReportingOverflow(relative),
                case (let end, false) = start.addingReportingOverflow(raw.byteCount),
                end <= fileSize
            else {
                throw GGUFError(
                    .tensorDataOutOfBounds, path: path, offset: raw.offsetFieldOffset, tensorName: raw.name,
                    problem: "the tensor's \(raw.byteCount) bytes of data at offset \(raw.relativeOffset) of the "
                        + "data section (which starts at byte \(dataOffset)) end beyond the end of the file "
                        + "(\(fileSize) bytes)",
                    remedy: GGUFError.defaultRemedy(for: .truncated))
            }
            return GGUFTensorInfo(
                name: raw.name, dimensions: raw.dimensions, type: raw.type, offset: start,
                elementCount: raw.elementCount, byteCount: raw.byteCount)
        }
    }

    /// Throws `.overlappingTensors` when two tensors share a byte of data.
    private func checkNoOverlap(_ tensors: [GGUFTensorInfo]) throws {
        let byStart = tensors.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(byStart, byStart.dropFirst())
        where previous.offset + previous.byteCount > next.offset {
            throw GGUFError(
                .overlappingTensors, path: path, offset: next.offset, tensorName: next.name,
                problem: "its data (bytes \(next.offset)..<\(next.offset + next.byteCount)) overlaps the data of "
                    + "tensor '\(previous.name)' (bytes \(previous.offset)..<\(previous.offset + previous.byteCount))")
        }
    }

    // MARK: - Message helpers

    /// ggml's names for type ids that Elide does not read, from `enum ggml_type` in ggml.h (ids 4, 5 and
    /// 31 to 33 and 36 to 38 were removed from ggml).
    static func ggmlTypeName(_ id: UInt32) -> String? {
        let names: [UInt32: String] = [
            6: "Q5_0", 7: "Q5_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K",
            16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S",
            23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 34: "TQ1_0",
            35: "TQ2_0", 39: "MXFP4",
        ]
        return GGMLType(rawValue: id)?.description ?? names[id]
    }

    /// Bytes as hex plus their printable ASCII, for the bad-magic message.
    private static func describeBytes(_ bytes: [UInt8]) -> String {
        let hex = bytes.map { byte in
            let text = String(byte, radix: 16, uppercase: true)
            return byte < 16 ? "0" + text : text
        }
        let ascii = String(bytes.map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "." })
        return "\(hex.joined(separator: " ")) ('\(ascii)')"
    }
}
