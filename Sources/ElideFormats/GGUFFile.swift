/// A GGUF model file (version 2 or 3, little-endian), memory-mapped read-only.
///
/// `init(path:)` validates the whole structure: header, every metadata value, every tensor info and
/// the bounds, alignment and overlap of all tensor data. It reads no tensor data, so opening a large
/// file touches only the pages that hold its header. Tensor data is returned as views into the mapping,
/// valid as long as this object lives.
public final class GGUFFile: @unchecked Sendable {
    // Sendable because every stored property is immutable and the mapping is read-only.

    /// The path the file was opened from.
    public let path: String
    /// GGUF format version: 2 or 3 (their little-endian layouts are identical).
    public let version: UInt32
    /// Alignment of the data section and of each tensor's data, in bytes (`general.alignment`, default 32).
    public let alignment: Int
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Metadata values by key.
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order, with absolute data offsets.
    public let tensors: [GGUFTensorInfo]
    /// Absolute byte offset where the data section starts.
    public let dataOffset: Int
    /// Size of the file in bytes.
    public var fileSize: Int { mapping.bytes.count }

    private let mapping: MappedFile
    private let tensorIndexByName: [String: Int]

    /// Maps the file at `path` and validates its structure.
    ///
    /// - Throws: `GGUFError` naming the file, the byte offset, key or tensor, and the problem.
    public init(path: String) throws {
        self.path = path
        mapping = try MappedFile(path: path)
        var parser = GGUFParser(bytes: mapping.bytes, path: path)
        let contents = try parser.parse()

        version = contents.version
        alignment = contents.alignment
        metadataKeys = contents.metadataKeys
        metadata = contents.metadata
        tensors = contents.tensors
        dataOffset = contents.dataOffset
        tensorIndexByName = Dictionary(
            uniqueKeysWithValues: contents.tensors.enumerated().map { ($0.element.name, $0.offset) })
    }

    /// Looks up a tensor by name; returns nil when the file has none of that name.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndexByName[name].map { tensors[$0] }
    }

    /// Returns the bytes of a tensor's data as stored (little-endian, in ggml block layout).
    ///
    /// The buffer points into the mapping and is valid while this `GGUFFile` lives. `tensor` must come
    /// from this file's `tensors` or `tensor(named:)`.
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        precondition(
            tensor.offset >= dataOffset && tensor.byteCount <= fileSize - tensor.offset,
            "tensor '\(tensor.name)' (bytes \(tensor.offset)..<\(tensor.offset + tensor.byteCount)) does not "
                + "belong to '\(path)' (\(fileSize) bytes)")
        return UnsafeRawBufferPointer(rebasing: mapping.bytes[tensor.offset..<tensor.offset + tensor.byteCount])
    }
}
