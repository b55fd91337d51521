import ElideTensor

#if canImport(Glibc)
    import Glibc
#endif

/// Builds a GGUF v3 file: ordered metadata, then tensors with their raw bytes.
///
/// The alignment is `general.alignment` when that key is set (an integer power of two), else 32. Each
/// tensor's data starts at the next aligned offset and is followed by zero padding up to the alignment,
/// as llama.cpp's writers do. Reading the output with `GGUFFile` gives back the same metadata, in the
/// same order, and the same tensor bytes, so `GGUFWriter(contentsOf:)` re-creates a file this writer
/// produced byte for byte.
public struct GGUFWriter: Sendable {
    /// A tensor waiting to be written.
    public struct Tensor: Sendable, Equatable {
        public let name: String
        /// Sizes in ggml order, `dimensions[0]` contiguous.
        public let dimensions: [Int]
        public let type: GGMLType
        /// The data in ggml block layout, `byteCount` bytes.
        public let bytes: [UInt8]
    }

    /// Metadata keys in the order they will be written.
    public private(set) var metadataKeys: [String] = []
    /// Metadata values by key.
    public private(set) var metadata: [String: GGUFValue] = [:]
    /// Tensors in the order they will be written.
    public private(set) var tensors: [Tensor] = []
    private var tensorNames: Set<String> = []

    /// Size of ggml's tensor name buffer (`GGML_MAX_NAME`), terminating NUL included. llama.cpp rejects
    /// files with longer names, so the writer does too; the reader accepts them.
    static let maximumTensorNameBytes = 64

    public init() {}

    /// Copies every metadata entry (in order) and every tensor (name, shape, type and bytes) of `file`.
    public init(contentsOf file: GGUFFile) throws {
        for key in file.metadataKeys {
            if let value = file.metadata[key] {
                setMetadata(key, value)
            }
        }
        for tensor in file.tensors {
            try addTensor(
                name: tensor.name, dimensions: tensor.dimensions, type: tensor.type, bytes: file.data(for: tensor))
        }
    }

    // MARK: - Building

    /// Sets a metadata value. A new key goes at the end; an existing key keeps its position.
    public mutating func setMetadata(_ key: String, _ value: GGUFValue) {
        if metadata.updateValue(value, forKey: key) == nil {
            metadataKeys.append(key)
        }
    }

    /// Removes a metadata entry if present.
    public mutating func removeMetadata(_ key: String) {
        if metadata.removeValue(forKey: key) != nil {
            metadataKeys.removeAll { $0 == key }
        }
    }

    /// Appends a tensor.
    ///
    /// - Parameters:
    ///   - dimensions: sizes in ggml order (`dimensions[0]` contiguous), 1 to 4 of them, each at least 1;
    ///     `dimensions[0]` must be a multiple of `type.blockSize`.
    ///   - bytes: the data in ggml block layout, exactly `elementCount / blockSize * blockBytes` bytes.
    /// - Throws: `GGUFError` (`.invalidWriterInput`) for a duplicate name, an invalid shape or a wrong byte count.
    public mutating func addTensor(name: String, dimensions: [Int], type: GGMLType, bytes: [UInt8]) throws {
        guard !tensorNames.contains(name) else {
            throw GGUFError(
                .invalidWriterInput, path: nil, tensorName: name, problem: "a tensor with this name was already added")
        }
        guard name.utf8.count < Self.maximumTensorNameBytes else {
            throw GGUFError(
                .invalidWriterInput, path: nil, tensorName: name,
                problem: "the name has \(name.utf8.count) bytes; llama.cpp accepts at most "
                    + "\(Self.maximumTensorNameBytes - 1)")
        }
        let byteCount: Int
        switch GGUFTensorInfo.sizes(dimensions: dimensions, type: type) {
        case .success(let sizes): byteCount = sizes.byteCount
        case .failure(let shapeProblem):
            throw GGUFError(
                .invalidWriterInput, path: nil, tensorName: name,
                problem: "the \(type) tensor of dimensions \(dimensions): \(shapeProblem.message)")
        }
        guard bytes.count == byteCount else {
            throw GGUFError(
                .invalidWriterInput, path: nil, tensorName: name,
                problem: "a \(type) tensor of dimensions \(dimensions) has \(byteCount) bytes of data, "
                    + "but \(bytes.count) were given")
        }
        tensorNames.insert(name)
        tensors.append(Tensor(name: name, dimensions: dimensions, type: type, bytes: bytes))
    }

    /// Appends a tensor, copying its data from `bytes`; see `addTensor(name:dimensions:type:bytes:)`.
    public mutating func addTensor(
        name: String, dimensions: [Int], type: GGMLType, bytes: UnsafeRawBufferPointer
    ) throws {
        try addTensor(name: name, dimensions: dimensions, type: type, bytes: [UInt8](bytes))
    }

    // MARK: - Output

    /// Encodes the complete file into bytes.
    public func serialized() throws -> [UInt8] {
        let layout = try makeLayout(path: nil)
        var output = layout.header
        for tensor in tensors {
            output += tensor.bytes
            output += [UInt8](
                repeating: 0, count: Self.paddingCount(after: tensor.bytes.count, alignment: layout.alignment))
        }
        return output
    }

    /// Writes the file to `path` atomically: into a temporary file in the same directory, which is
    /// synced and then renamed over `path`. Readers see either the old file or the complete new one.
    ///
    /// - Throws: `GGUFError` (`.invalidWriterInput` or `.writeFailed`) naming `path`.
    public func write(to path: String) throws {
        let layout = try makeLayout(path: path)
        var template = Array("\(path).partial-XXXXXX".utf8CString)
        // !-safe: the template array is never empty.
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw Self.writeError(path: path, action: "failed to create a temporary file in its directory")
        }
        let temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }

        do {
            defer { close(descriptor) }
            try Self.writeAll(layout.header, to: descriptor, path: path)
            for tensor in tensors {
                try Self.writeAll(tensor.bytes, to: descriptor, path: path)
                let padding = Self.paddingCount(after: tensor.bytes.count, alignment: layout.alignment)
                try Self.writeAll([UInt8](repeating: 0, count: padding), to: descriptor, path: path)
            }
            guard fchmod(descriptor, 0o644) == 0 else {
                throw Self.writeError(path: path, action: "failed to set the permissions of \(temporaryPath)")
            }
            guard fsync(descriptor) == 0 else {
                throw Self.writeError(path: path, action: "failed to sync \(temporaryPath) to disk")
            }
        } catch {
            unlink(temporaryPath)
            throw error
        }
        guard rename(temporaryPath, path) == 0 else {
            let error = Self.writeError(path: path, action: "failed to rename \(temporaryPath) to it")
            unlink(temporaryPath)
            throw error
        }
    }

    // MARK: - Encoding

    /// Everything before the first tensor's data, including the padding, and the alignment used.
    private func makeLayout(path: String?) throws -> (header: [UInt8], alignment: Int) {
        let alignment = try resolvedAlignment(path: path)
        var header: [UInt8] = []
        header += Array("GGUF".utf8)
        Self.append(UInt32(3), to: &header)
        Self.append(UInt64(tensors.count), to: &header)
        Self.append(UInt64(metadataKeys.count), to: &header)

        for key in metadataKeys {
            guard let value = metadata[key] else { continue }
            if case .array(let array) = value, array.nestingDepth > GGUFParser.maximumArrayNesting {
                throw GGUFError(
                    .invalidWriterInput, path: path, metadataKey: key,
                    problem: "arrays nest \(array.nestingDepth) levels deep; readers accept at most "
                        + "\(GGUFParser.maximumArrayNesting)")
            }
            Self.append(key, to: &header)
            Self.append(value.type.rawValue, to: &header)
            Self.append(value, to: &header)
        }

        var relativeOffset = 0
        for tensor in tensors {
            Self.append(tensor.name, to: &header)
            Self.append(UInt32(tensor.dimensions.count), to: &header)
            for dimension in tensor.dimensions {
                Self.append(UInt64(dimension), to: &header)
            }
            Self.append(tensor.type.rawValue, to: &header)
            Self.append(UInt64(relativeOffset), to: &header)
            relativeOffset += tensor.bytes.count + Self.paddingCount(after: tensor.bytes.count, alignment: alignment)
        }

        header += [UInt8](repeating: 0, count: Self.paddingCount(after: header.count, alignment: alignment))
        return (header, alignment)
    }

    private func resolvedAlignment(path: String?) throws -> Int {
        guard let value = metadata["general.alignment"] else { return GGUFParser.defaultAlignment }
        // The reader accepts any integer type, but llama.cpp reads this key only as a uint32.
        guard case .uint32(let raw) = value, raw > 0, raw.nonzeroBitCount == 1, let alignment = Int(exactly: raw)
        else {
            throw GGUFError(
                .invalidWriterInput, path: path, metadataKey: "general.alignment",
                problem: "the alignment is \(GGUFFile.summary(of: value)) (\(value.type)); it must be a uint32 "
                    + "power of two (usually 32)")
        }
        return alignment
    }

    private static func paddingCount(after count: Int, alignment: Int) -> Int {
        (alignment - count % alignment) % alignment
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to output: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { output += $0 }
    }

    private static func append(_ string: String, to output: inout [UInt8]) {
        append(UInt64(string.utf8.count), to: &output)
        output += string.utf8
    }

    private static func append(_ value: GGUFValue, to output: inout [UInt8]) {
        switch value {
        case .uint8(let value): append(value, to: &output)
        case .int8(let value): append(value, to: &output)
        case .uint16(let value): append(value, to: &output)
        case .int16(let value): append(value, to: &output)
        case .uint32(let value): append(value, to: &output)
        case .int32(let value): append(value, to: &output)
        case .uint64(let value): append(value, to: &output)
        case .int64(let value): append(value, to: &output)
        case .float32(let value): append(value.bitPattern, to: &output)
        case .float64(let value): append(value.bitPattern, to: &output)
        case .bool(let value): output.append(value ? 1 : 0)
        case .string(let value): append(value, to: &output)
        case .array(let array): append(array, to: &output)
        }
    }

    /// Appends an array: element type, count, elements.
    private static func append(_ array: GGUFArray, to output: inout [UInt8]) {
        append(array.elementType.rawValue, to: &output)
        append(UInt64(array.count), to: &output)
        switch array {
        case .uint8(let values): output += values
        case .int8(let values): values.forEach { append($0, to: &output) }
        case .uint16(let values): values.forEach { append($0, to: &output) }
        case .int16(let values): values.forEach { append($0, to: &output) }
        case .uint32(let values): values.forEach { append($0, to: &output) }
        case .int32(let values): values.forEach { append($0, to: &output) }
        case .uint64(let values): values.forEach { append($0, to: &output) }
        case .int64(let values): values.forEach { append($0, to: &output) }
        case .float32(let values): values.forEach { append($0.bitPattern, to: &output) }
        case .float64(let values): values.forEach { append($0.bitPattern, to: &output) }
        case .bool(let values): output += values.map { $0 ? 1 : 0 }
        case .string(let values): values.forEach { append($0, to: &output) }
        case .array(let values): values.forEach { append($0, to: &output) }
        }
    }

    // MARK: - File I/O

    /// Writes every byte, retrying after partial writes and EINTR.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws {
        try bytes.withUnsafeBytes { buffer in
            var written = 0
            while written < buffer.count {
                // !-safe: a non-empty buffer has a base address.
                let result = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw writeError(path: path, action: "failed to write \(buffer.count) bytes")
                }
                written += result
            }
        }
    }

    private static func writeError(path: String, action: String) -> GGUFError {
        let code = errno
        return GGUFError(.writeFailed, path: path, problem: "\(action): \(GGUFError.errnoText(code))")
    }
}
