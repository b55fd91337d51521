import ElideTensor
import Foundation
import Testing

@testable import ElideFormats

/// Each test writes a valid sample model, damages some bytes, and checks that opening it throws a
/// `GGUFError` of the expected kind whose text names the problem and where it is.
@Suite struct GGUFBadInputTests {
    let directory: TemporaryDirectory
    let good: [UInt8]

    init() throws {
        directory = try TemporaryDirectory()
        good = try GGUFSamples.corruptibleModel().serialized()
    }

    /// Applies `damage` to a copy of the good file, opens it, and checks the error's kind and text.
    @discardableResult
    func expectError(
        _ kind: GGUFError.Kind, mentioning fragments: [String],
        sourceLocation: SourceLocation = #_sourceLocation,
        damage: (inout [UInt8]) throws -> Void
    ) throws -> GGUFError? {
        var bytes = good
        try damage(&bytes)
        guard let error = try GGUFSamples.openError(bytes, in: directory, sourceLocation: sourceLocation) else {
            return nil
        }
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error.description.contains(fragment), "\(error)", sourceLocation: sourceLocation)
        }
        return error
    }

    /// Offset of the field `delta` bytes after the end of a key or tensor name.
    func field(after name: String, _ delta: Int = 0) throws -> Int {
        try GGUFSamples.end(of: name, in: good) + delta
    }

    // MARK: - Header

    @Test func wrongMagic() throws {
        try expectError(.badMagic, mentioning: ["47 47 4D 4C ('GGML')", "not a GGUF file", "byte 0"]) { bytes in
            bytes.replaceSubrange(0..<4, with: Array("GGML".utf8))
        }
    }

    @Test func version1() throws {
        try expectError(.unsupportedVersion, mentioning: ["version 1 is not supported", "byte 4"]) { bytes in
            GGUFSamples.patch(&bytes, at: 4, with: UInt32(1))
        }
    }

    @Test func futureVersion() throws {
        try expectError(.unsupportedVersion, mentioning: ["unsupported GGUF version 4"]) { bytes in
            GGUFSamples.patch(&bytes, at: 4, with: UInt32(4))
        }
    }

    @Test func versionZero() throws {
        try expectError(.unsupportedVersion, mentioning: ["unsupported GGUF version 0"]) { bytes in
            GGUFSamples.patch(&bytes, at: 4, with: UInt32(0))
        }
    }

    @Test func bigEndianFile() throws {
        try expectError(.unsupportedVersion, mentioning: ["big-endian", "version 3"]) { bytes in
            GGUFSamples.patch(&bytes, at: 4, with: UInt32(3).byteSwapped)
        }
    }

    @Test func absurdTensorCount() throws {
        try expectError(.countTooLarge, mentioning: ["tensor count is 4611686018427387904", "byte 8"]) { bytes in
            GGUFSamples.patch(&bytes, at: 8, with: UInt64(1) << 62)
        }
    }

    @Test func absurdMetadataCount() throws {
        try expectError(.countTooLarge, mentioning: ["metadata entry count is 18446744073709551615", "byte 16"]) {
            bytes in
            GGUFSamples.patch(&bytes, at: 16, with: UInt64.max)
        }
    }

    // MARK: - Truncation

    /// Every prefix that ends before the last tensor's data is complete must be rejected. Only the trailing
    /// padding may be cut without error.
    @Test func everyTruncationIsRejected() throws {
        let file = try GGUFFile(path: directory.write(good, named: "good.gguf"))
        let dataEnd = try #require(file.tensors.map { $0.offset + $0.byteCount }.max())
        let expectedKinds: [GGUFError.Kind] = [.truncated, .countTooLarge, .tensorDataOutOfBounds]
        for length in 0..<dataEnd {
            let error = try GGUFSamples.openError(Array(good.prefix(length)), in: directory)
            #expect(
                error.map { expectedKinds.contains($0.kind) } == true,
                "prefix of \(length) bytes: \(String(describing: error))")
        }
        for length in dataEnd...good.count {
            let path = try directory.write(Array(good.prefix(length)))
            #expect(throws: Never.self, "prefix of \(length) bytes") { _ = try GGUFFile(path: path) }
        }
    }

    @Test func truncatedInHeader() throws {
        try expectError(.truncated, mentioning: ["the tensor count in the header needs 8 bytes", "only 4 remain"]) {
            bytes in
            bytes.removeSubrange(12...)
        }
    }

    @Test func truncatedEmptyFile() throws {
        try expectError(.truncated, mentioning: ["the magic number needs 4 bytes", "file size 0 bytes"]) { bytes in
            bytes.removeAll()
        }
    }

    @Test func truncatedInMetadataKey() throws {
        let keyStart = try GGUFSamples.offset(of: "test.count", in: good)
        try expectError(
            .countTooLarge, mentioning: ["the length of the key of metadata entry 1 of 6 is 10", "truncated"]
        ) {
            bytes in
            bytes.removeSubrange((keyStart + 4)...)
        }
    }

    @Test func truncatedInMetadataValue() throws {
        let valueStart = try field(after: "test.count", 4)
        try expectError(
            .truncated, mentioning: ["the value of metadata key 'test.count' needs 4 bytes", "only 2 remain"]
        ) {
            bytes in
            bytes.removeSubrange((valueStart + 2)...)
        }
    }

    @Test func truncatedInArray() throws {
        let secondString = try GGUFSamples.offset(of: "hello", in: good)
        try expectError(.countTooLarge, mentioning: ["string 1 of the array in metadata key 'test.tokens'"]) { bytes in
            bytes.removeSubrange((secondString + 2)...)
        }
        try expectError(.truncated, mentioning: ["the element count of an array in metadata key 'test.tokens'"]) {
            bytes in
            bytes.removeSubrange((try field(after: "test.tokens", 4 + 4 + 3))...)
        }
    }

    @Test func truncatedInTensorInfo() throws {
        let dimensionCount = try field(after: "tensor.beta")
        try expectError(.truncated, mentioning: ["the dimension count of tensor 'tensor.beta' needs 4 bytes"]) {
            bytes in
            bytes.removeSubrange((dimensionCount + 1)...)
        }
        try expectError(.truncated, mentioning: ["the data offset of tensor 'tensor.beta' needs 8 bytes"]) { bytes in
            bytes.removeSubrange((dimensionCount + 4 + 8 + 4 + 3)...)
        }
    }

    @Test func truncatedInTensorData() throws {
        let file = try GGUFFile(path: directory.write(good, named: "good.gguf"))
        let gamma = try #require(file.tensor(named: "tensor.gamma"))
        try expectError(
            .tensorDataOutOfBounds,
            mentioning: ["tensor 'tensor.gamma'", "\(gamma.byteCount) bytes of data", "end beyond the end of the file"]
        ) { bytes in
            bytes.removeSubrange((gamma.offset + 10)...)
        }
    }

    // MARK: - Metadata

    @Test func unknownMetadataValueType() throws {
        try expectError(.unknownValueType, mentioning: ["metadata key 'test.count'", "is 13", "not a GGUF value type"])
        {
            bytes in
            GGUFSamples.patch(&bytes, at: try field(after: "test.count"), with: UInt32(13))
        }
    }

    @Test func unknownArrayElementType() throws {
        try expectError(
            .unknownValueType, mentioning: ["element type of an array in metadata key 'test.tokens'", "99"]
        ) {
            bytes in
            GGUFSamples.patch(&bytes, at: try field(after: "test.tokens", 4), with: UInt32(99))
        }
    }

    @Test func stringLengthBeyondFile() throws {
        let lengthOffset = try field(after: "general.architecture", 4)
        try expectError(
            .countTooLarge,
            mentioning: [
                "the length of the value of metadata key 'general.architecture' is 1099511627776",
                "byte \(lengthOffset)",
            ]
        ) { bytes in
            GGUFSamples.patch(&bytes, at: lengthOffset, with: UInt64(1) << 40)
        }
        try expectError(.countTooLarge, mentioning: ["'general.architecture' is \(good.count)"]) { bytes in
            GGUFSamples.patch(&bytes, at: lengthOffset, with: UInt64(bytes.count))
        }
    }

    @Test func absurdArrayCount() throws {
        try expectError(
            .countTooLarge,
            mentioning: ["element count of the string array in metadata key 'test.tokens' is 4611686018427387904"]
        ) { bytes in
            GGUFSamples.patch(&bytes, at: try field(after: "test.tokens", 4 + 4), with: UInt64(1) << 62)
        }
    }

    @Test func invalidBool() throws {
        try expectError(.invalidMetadata, mentioning: ["metadata key 'test.flag'", "stored as 2"]) { bytes in
            bytes[try field(after: "test.flag", 4)] = 2
        }
    }

    @Test func invalidUTF8InKey() throws {
        try expectError(
            .invalidUTF8, mentioning: ["the key of metadata entry 1 of 6 is not valid UTF-8", "74 65 73 74 FF"]
        ) {
            bytes in
            bytes[try GGUFSamples.offset(of: "test.count", in: bytes) + 4] = 0xFF
        }
    }

    @Test func invalidUTF8InStringValue() throws {
        try expectError(.invalidUTF8, mentioning: ["value of metadata key 'general.architecture' is not valid UTF-8"]) {
            bytes in
            bytes[try GGUFSamples.offset(of: "llama", in: bytes) + 1] = 0xC3
        }
        try expectError(.invalidUTF8, mentioning: ["string 2 of the array in metadata key 'test.tokens'"]) { bytes in
            bytes[try GGUFSamples.offset(of: "world", in: bytes)] = 0x80
        }
    }

    @Test func invalidUTF8InTensorName() throws {
        try expectError(.invalidUTF8, mentioning: ["the name of tensor 1 of 3 is not valid UTF-8"]) { bytes in
            bytes[try GGUFSamples.offset(of: "tensor.beta", in: bytes)] = 0xFE
        }
    }

    @Test func duplicateMetadataKey() throws {
        try expectError(.duplicateKey, mentioning: ["metadata key 'test.a'", "metadata entry 5 repeats"]) { bytes in
            bytes[try GGUFSamples.offset(of: "test.b", in: bytes) + 5] = UInt8(ascii: "a")
        }
    }

    @Test func invalidAlignment() throws {
        var writer = try GGUFSamples.corruptibleModel()
        writer.setMetadata("general.alignment", .uint32(32))
        let aligned = try writer.serialized()
        let valueOffset = try GGUFSamples.end(of: "general.alignment", in: aligned) + 4
        for bad in [UInt32(0), 3, 48] {
            var bytes = aligned
            GGUFSamples.patch(&bytes, at: valueOffset, with: bad)
            let error = try GGUFSamples.openError(bytes, in: directory)
            #expect(error?.kind == .invalidMetadata)
            #expect(error?.description.contains("metadata key 'general.alignment'") == true)
            #expect(error?.description.contains("alignment is \(bad)") == true, "\(String(describing: error))")
        }
    }

    @Test func arraysNestedTooDeep() throws {
        var bytes = Array("GGUF".utf8)
        GGUFSamples.appendLittleEndian(UInt32(3), to: &bytes)
        GGUFSamples.appendLittleEndian(UInt64(0), to: &bytes)
        GGUFSamples.appendLittleEndian(UInt64(1), to: &bytes)
        GGUFSamples.appendLittleEndian(UInt64(4), to: &bytes)
        bytes += Array("deep".utf8)
        GGUFSamples.appendLittleEndian(GGUFValueType.array.rawValue, to: &bytes)
        for _ in 0..<100_000 {
            GGUFSamples.appendLittleEndian(GGUFValueType.array.rawValue, to: &bytes)
            GGUFSamples.appendLittleEndian(UInt64(1), to: &bytes)
        }
        let error = try GGUFSamples.openError(bytes, in: directory)
        #expect(error?.kind == .invalidMetadata)
        #expect(error?.description.contains("metadata key 'deep'") == true)
        #expect(error?.description.contains("nest more than 16 levels") == true)
    }

    // MARK: - Tensor infos

    @Test func unknownTensorType() throws {
        let typeOffset = try field(after: "tensor.beta", 4 + 8)
        try expectError(
            .unknownTensorType,
            mentioning: [
                "tensor 'tensor.beta'", "unknown tensor type id 12 (Q4_K)", "byte \(typeOffset)", "llama-quantize",
            ]
        ) { bytes in
            GGUFSamples.patch(&bytes, at: typeOffset, with: UInt32(12))
        }
        try expectError(.unknownTensorType, mentioning: ["tensor 'tensor.beta'", "unknown tensor type id 200."]) {
            bytes in
            GGUFSamples.patch(&bytes, at: typeOffset, with: UInt32(200))
        }
    }

    @Test func tooManyDimensions() throws {
        try expectError(.invalidDimensions, mentioning: ["tensor 'tensor.beta'", "has 5 dimensions"]) { bytes in
            GGUFSamples.patch(&bytes, at: try field(after: "tensor.beta"), with: UInt32(5))
        }
        try expectError(.invalidDimensions, mentioning: ["tensor 'tensor.beta'", "has 0 dimensions"]) { bytes in
            GGUFSamples.patch(&bytes, at: try field(after: "tensor.beta"), with: UInt32(0))
        }
    }

    @Test func zeroOrNegativeDimension() throws {
        let secondDimension = try field(after: "tensor.gamma", 4 + 8)
        try expectError(
            .invalidDimensions, mentioning: ["tensor 'tensor.gamma'", "dimension 1 is 0", "byte \(secondDimension)"]
        ) {
            bytes in
            GGUFSamples.patch(&bytes, at: secondDimension, with: UInt64(0))
        }
        try expectError(.invalidDimensions, mentioning: ["tensor 'tensor.gamma'", "dimension 1 is -1"]) { bytes in
            GGUFSamples.patch(&bytes, at: secondDimension, with: UInt64.max)
        }
    }

    @Test func elementCountNotWholeBlocks() throws {
        try expectError(
            .invalidDimensions,
            mentioning: ["tensor 'tensor.beta'", "first dimension 48 is not a multiple of the Q8_0 block size 32"]
        ) { bytes in
            GGUFSamples.patch(&bytes, at: try field(after: "tensor.beta", 4), with: UInt64(48))
        }
    }

    @Test func elementCountOverflow() throws {
        try expectError(.invalidDimensions, mentioning: ["tensor 'tensor.alpha'", "more elements than Int can count"]) {
            bytes in
            GGUFSamples.patch(&bytes, at: try field(after: "tensor.alpha", 4), with: UInt64(1) << 40)
            GGUFSamples.patch(&bytes, at: try field(after: "tensor.alpha", 4 + 8), with: UInt64(1) << 40)
        }
    }

    @Test func duplicateTensorName() throws {
        try expectError(.duplicateTensorName, mentioning: ["tensor 'tensor.alpha'", "tensor info 2 repeats"]) { bytes in
            let gamma = try GGUFSamples.offset(of: "tensor.gamma", in: bytes)
            bytes.replaceSubrange(gamma..<gamma + 12, with: Array("tensor.alpha".utf8))
        }
    }

    // MARK: - Data layout

    @Test func tensorDataBeyondEnd() throws {
        let offsetField = try field(after: "tensor.gamma", 4 + 16 + 4)
        try expectError(
            .tensorDataOutOfBounds,
            mentioning: ["tensor 'tensor.gamma'", "at offset 1048576", "end beyond the end of the file"]
        ) { bytes in
            GGUFSamples.patch(&bytes, at: offsetField, with: UInt64(1) << 20)
        }
        try expectError(.tensorDataOutOfBounds, mentioning: ["tensor 'tensor.gamma'", "at offset 9223372036854775808"])
        {
            bytes in
            GGUFSamples.patch(&bytes, at: offsetField, with: UInt64(1) << 63)
        }
    }

    @Test func overlappingTensors() throws {
        let betaOffset = GGUFSamples.readUInt64(good, at: try field(after: "tensor.beta", 4 + 8 + 4))
        try expectError(
            .overlappingTensors, mentioning: ["tensor 'tensor.gamma'", "overlaps the data of tensor 'tensor.beta'"]
        ) {
            bytes in
            GGUFSamples.patch(&bytes, at: try field(after: "tensor.gamma", 4 + 16 + 4), with: betaOffset + 32)
        }
    }

    @Test func misalignedTensor() throws {
        let offsetField = try field(after: "tensor.gamma", 4 + 16 + 4)
        try expectError(
            .misalignedTensor,
            mentioning: ["tensor 'tensor.gamma'", "is not a multiple of the alignment 32", "byte \(offsetField)"]
        ) { bytes in
            let offset = GGUFSamples.readUInt64(bytes, at: offsetField)
            GGUFSamples.patch(&bytes, at: offsetField, with: offset + 4)
        }
    }

    // MARK: - Files

    @Test func missingFile() throws {
        let path = directory.file("absent.gguf")
        #expect {
            _ = try GGUFFile(path: path)
        } throws: { error in
            guard let error = error as? GGUFError else { return false }
            return error.kind == .cannotOpen && error.description.contains(path)
                && error.description.contains("No such file or directory")
        }
    }

    @Test func directoryInsteadOfFile() throws {
        #expect {
            _ = try GGUFFile(path: directory.path)
        } throws: { error in
            (error as? GGUFError)?.kind == .cannotOpen && "\(error)".contains("not a regular file")
        }
    }

    /// Seeded random damage to the header and metadata: every outcome must be a clean open or a GGUFError.
    @Test(arguments: [UInt64(1), 2, 3])
    func randomDamageNeverCrashes(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        let file = try GGUFFile(path: directory.write(good, named: "good.gguf"))
        for _ in 0..<300 {
            var bytes = good
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0..<file.dataOffset, using: &generator)
                bytes[position] = UInt8.random(in: 0...255, using: &generator)
            }
            let path = try directory.write(bytes)
            do {
                _ = try GGUFFile(path: path)
            } catch is GGUFError {
                // Expected for most damage.
            }
        }
    }
}

extension GGUFSamples {
    static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }
}
