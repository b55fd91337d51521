import ElideTensor
import Foundation
import Testing

@testable import ElideFormats

// Shared helpers for the GGUF tests: temporary files, a sample model, byte patching and a seeded
// generator. The file contains one test that checks the helpers themselves.

/// A fresh directory under the system temporary directory, removed when the object is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("\(NSTemporaryDirectory())/elide-gguf-tests-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = try #require(created.map { String(cString: $0) }, "mkdtemp failed: errno \(errno)")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Writes `bytes` to a new file in this directory and returns its path.
    func write(_ bytes: [UInt8], named name: String = "model.gguf") throws -> String {
        let path = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// SplitMix64: a small seeded generator, so that every random test input is reproducible.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

enum GGUFSamples {
    /// `count` bytes from a generator seeded with `seed`.
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// Bytes of a tensor's data with the size `type` and `dimensions` require.
    static func tensorBytes(_ type: GGMLType, _ dimensions: [Int], seed: UInt64) -> [UInt8] {
        let elements = dimensions.reduce(1, *)
        return randomBytes(elements / type.blockSize * type.blockBytes, seed: seed)
    }

    /// Builds a small valid model that the bad-input tests corrupt. Key and tensor names are unique byte strings,
    /// so a test finds each field by searching for its name. The two tensor names have equal length so one
    /// can be renamed into the other in place.
    static func corruptibleModel() throws -> GGUFWriter {
        var writer = GGUFWriter()
        writer.setMetadata("general.architecture", .string("llama"))
        writer.setMetadata("test.count", .uint32(7))
        writer.setMetadata("test.tokens", .array(.string(["<s>", "hello", "world"])))
        writer.setMetadata("test.flag", .bool(true))
        writer.setMetadata("test.a", .uint8(1))
        writer.setMetadata("test.b", .uint8(2))
        try writer.addTensor(
            name: "tensor.alpha", dimensions: [8, 2], type: .f32, bytes: tensorBytes(.f32, [8, 2], seed: 1))
        try writer.addTensor(
            name: "tensor.beta", dimensions: [64], type: .q8_0, bytes: tensorBytes(.q8_0, [64], seed: 2))
        try writer.addTensor(
            name: "tensor.gamma", dimensions: [32, 2], type: .q4_1, bytes: tensorBytes(.q4_1, [32, 2], seed: 3))
        return writer
    }

    /// Offset of the first occurrence of `text`'s UTF-8 bytes in `bytes`.
    static func offset(of text: String, in bytes: [UInt8]) throws -> Int {
        let needle = Array(text.utf8)
        let found = (0...(bytes.count - needle.count)).first { start in
            bytes[start..<start + needle.count].elementsEqual(needle)
        }
        return try #require(found, "'\(text)' does not occur in the sample file")
    }

    /// Offset just past the name bytes of a metadata key or tensor name.
    static func end(of text: String, in bytes: [UInt8]) throws -> Int {
        try offset(of: text, in: bytes) + text.utf8.count
    }

    /// Overwrites `bytes` at `offset` with `value` in little-endian order.
    static func patch<T: FixedWidthInteger>(_ bytes: inout [UInt8], at offset: Int, with value: T) {
        withUnsafeBytes(of: value.littleEndian) { encoded in
            for (index, byte) in encoded.enumerated() {
                bytes[offset + index] = byte
            }
        }
    }

    static func readUInt64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { value, index in value | UInt64(bytes[offset + index]) << (8 * index) }
    }

    /// Writes `bytes` to a file and opens it, returning the error `GGUFFile` throws; records an issue and
    /// returns nil when the file opens.
    static func openError(
        _ bytes: [UInt8], in directory: TemporaryDirectory, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> GGUFError? {
        let path = try directory.write(bytes)
        do {
            _ = try GGUFFile(path: path)
            Issue.record("a damaged file opened without an error", sourceLocation: sourceLocation)
            return nil
        } catch let error as GGUFError {
            #expect(error.path == path, sourceLocation: sourceLocation)
            #expect(error.description.contains(path), sourceLocation: sourceLocation)
            #expect(!error.remedy.isEmpty, sourceLocation: sourceLocation)
            return error
        }
    }
}

@Test func sampleModelFieldsAreFoundBySearch() throws {
    let bytes = try GGUFSamples.corruptibleModel().serialized()
    let countValueOffset = try GGUFSamples.end(of: "test.count", in: bytes) + 4
    #expect(bytes[countValueOffset] == 7)
    let betaTypeOffset = try GGUFSamples.end(of: "tensor.beta", in: bytes) + 4 + 8
    #expect(bytes[betaTypeOffset] == UInt8(GGMLType.q8_0.rawValue))
}
