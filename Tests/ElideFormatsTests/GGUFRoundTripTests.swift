import ElideTensor
import Foundation
import Testing

@testable import ElideFormats

@Suite struct GGUFRoundTripTests {
    /// One metadata entry per scalar type with edge values, strings, and arrays of every element type,
    /// including empty and nested arrays.
    static let everyValue: [(String, GGUFValue)] = [
        ("scalar.uint8", .uint8(.max)),
        ("scalar.int8", .int8(.min)),
        ("scalar.uint16", .uint16(.max)),
        ("scalar.int16", .int16(.min)),
        ("scalar.uint32", .uint32(.max)),
        ("scalar.int32", .int32(.min)),
        ("scalar.float32", .float32(-Float.leastNonzeroMagnitude)),
        ("scalar.float32.infinity", .float32(.infinity)),
        ("scalar.bool.true", .bool(true)),
        ("scalar.bool.false", .bool(false)),
        ("scalar.string", .string("Grüße, 世界 🙂")),
        ("scalar.string.empty", .string("")),
        ("scalar.string.nul", .string("a\u{0}b")),
        ("scalar.uint64", .uint64(.max)),
        ("scalar.int64", .int64(.min)),
        ("scalar.float64", .float64(-Double.greatestFiniteMagnitude)),
        ("array.uint8", .array(.uint8([0, 1, 255]))),
        ("array.int8", .array(.int8([-128, 0, 127]))),
        ("array.uint16", .array(.uint16([0, 65535]))),
        ("array.int16", .array(.int16([-32768, 32767]))),
        ("array.uint32", .array(.uint32([0, .max]))),
        ("array.int32", .array(.int32([.min, -1, .max]))),
        ("array.float32", .array(.float32([1.5, -0.25, .greatestFiniteMagnitude]))),
        ("array.bool", .array(.bool([true, false, true]))),
        ("array.string", .array(.string(["Ġt", "", "é", "<|im_start|>"]))),
        ("array.uint64", .array(.uint64([0, .max]))),
        ("array.int64", .array(.int64([.min, .max]))),
        ("array.float64", .array(.float64([1e-300, -2.5]))),
        ("array.empty", .array(.int32([]))),
        (
            "array.nested",
            .array(.array([.string(["a", "b"]), .float32([1, 2, 3]), .array([.uint8([9])]), .bool([])]))
        ),
        ("array.nested.empty", .array(.array([]))),
    ]

    @Test func everyValueTypeRoundTrips() throws {
        var writer = GGUFWriter()
        for (key, value) in Self.everyValue {
            writer.setMetadata(key, value)
        }
        let directory = try TemporaryDirectory()
        let path = directory.file("values.gguf")
        try writer.write(to: path)
        let file = try GGUFFile(path: path)

        #expect(file.version == 3)
        #expect(file.metadataKeys == Self.everyValue.map(\.0))
        for (key, value) in Self.everyValue {
            #expect(file.metadata[key] == value, "metadata key \(key)")
            #expect(file.metadata[key]?.type == value.type, "type of metadata key \(key)")
        }
        #expect(file.tensors.isEmpty)
    }

    @Test func negativeZeroKeepsItsSign() throws {
        var writer = GGUFWriter()
        writer.setMetadata("zero.float32", .float32(-0.0))
        writer.setMetadata("zero.float64", .float64(-0.0))
        let directory = try TemporaryDirectory()
        let file = try GGUFFile(path: directory.write(writer.serialized()))
        guard case .float32(let single) = file.metadata["zero.float32"],
            case .float64(let double) = file.metadata["zero.float64"]
        else {
            Issue.record("the values did not come back as floats")
            return
        }
        #expect(single.bitPattern == (-Float(0)).bitPattern)
        #expect(double.bitPattern == (-Double(0)).bitPattern)
    }

    @Test(arguments: [
        (GGMLType.f32, [4, 3]), (.f16, [8]), (.bf16, [2, 2, 2, 2]), (.q4_0, [64, 2]), (.q4_1, [32]),
        (.q8_0, [32, 3]), (.q8_1, [64, 1, 2]),
    ])
    func tensorTypeRoundTrips(type: GGMLType, dimensions: [Int]) throws {
        let data = GGUFSamples.tensorBytes(type, dimensions, seed: UInt64(type.rawValue))
        var writer = GGUFWriter()
        writer.setMetadata("general.architecture", .string("test"))
        // A first tensor of odd size makes the second one start after padding.
        try writer.addTensor(name: "first", dimensions: [3], type: .f32, bytes: GGUFSamples.randomBytes(12, seed: 99))
        try writer.addTensor(name: "second", dimensions: dimensions, type: type, bytes: data)
        let directory = try TemporaryDirectory()
        let file = try GGUFFile(path: directory.write(writer.serialized()))

        let tensor = try #require(file.tensor(named: "second"))
        #expect(tensor.type == type)
        #expect(tensor.dimensions == dimensions)
        #expect(tensor.elementCount == dimensions.reduce(1, *))
        #expect(tensor.byteCount == data.count)
        #expect(tensor.offset % file.alignment == 0)
        #expect(tensor.offset >= file.dataOffset)
        #expect(Array(file.data(for: tensor)) == data)
        #expect(file.tensors.map(\.name) == ["first", "second"])
    }

    @Test func rewriteIsByteIdentical() throws {
        var writer = try GGUFSamples.corruptibleModel()
        for (key, value) in Self.everyValue {
            writer.setMetadata(key, value)
        }
        let original = try writer.serialized()
        let directory = try TemporaryDirectory()
        let file = try GGUFFile(path: directory.write(original))
        let rewritten = try GGUFWriter(contentsOf: file).serialized()
        #expect(rewritten == original)
    }

    @Test func customAlignmentIsApplied() throws {
        var writer = GGUFWriter()
        writer.setMetadata("general.alignment", .uint32(64))
        try writer.addTensor(name: "a", dimensions: [5], type: .f32, bytes: GGUFSamples.randomBytes(20, seed: 5))
        try writer.addTensor(
            name: "b", dimensions: [32], type: .q8_0, bytes: GGUFSamples.tensorBytes(.q8_0, [32], seed: 6))
        let bytes = try writer.serialized()
        let directory = try TemporaryDirectory()
        let file = try GGUFFile(path: directory.write(bytes))

        #expect(file.alignment == 64)
        #expect(file.dataOffset % 64 == 0)
        #expect(file.tensors.allSatisfy { $0.offset % 64 == 0 })
        #expect(file.tensors[1].offset == file.dataOffset + 64)
        #expect(bytes.count % 64 == 0)
    }

    @Test func defaultAlignmentIs32() throws {
        let directory = try TemporaryDirectory()
        let file = try GGUFFile(path: directory.write(GGUFSamples.corruptibleModel().serialized()))
        #expect(file.alignment == 32)
        #expect(file.metadata["general.alignment"] == nil)
        #expect(file.tensors.map(\.offset) == [file.dataOffset, file.dataOffset + 64, file.dataOffset + 160])
    }

    @Test func writeReplacesFileAtomically() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("model.gguf")
        var writer = GGUFWriter()
        writer.setMetadata("generation", .uint32(1))
        try writer.write(to: path)
        writer.setMetadata("generation", .uint32(2))
        try writer.write(to: path)

        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.gguf"])
        #expect(try GGUFFile(path: path).metadata["generation"] == .uint32(2))
    }

    @Test func writeToMissingDirectoryFails() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("missing/model.gguf")
        #expect {
            try GGUFWriter().write(to: path)
        } throws: { error in
            guard let error = error as? GGUFError else { return false }
            return error.kind == .writeFailed && error.description.contains(path)
        }
    }

    @Test func setMetadataKeepsPositionOfExistingKey() {
        var writer = GGUFWriter()
        writer.setMetadata("a", .uint8(1))
        writer.setMetadata("b", .uint8(2))
        writer.setMetadata("a", .uint8(3))
        #expect(writer.metadataKeys == ["a", "b"])
        #expect(writer.metadata["a"] == .uint8(3))
        writer.removeMetadata("a")
        #expect(writer.metadataKeys == ["b"])
    }

    @Test func valueAccessorsConvert() {
        #expect(GGUFValue.uint32(576).intValue == 576)
        #expect(GGUFValue.int8(-3).intValue == -3)
        #expect(GGUFValue.uint64(.max).intValue == nil)
        #expect(GGUFValue.float32(1).intValue == nil)
        #expect(GGUFValue.float32(1e-5).floatValue == Double(Float(1e-5)))
        #expect(GGUFValue.uint32(100_000).floatValue == 100_000)
        #expect(GGUFValue.string("x").floatValue == nil)
        #expect(GGUFValue.string("gpt2").stringValue == "gpt2")
        #expect(GGUFValue.uint8(1).stringValue == nil)
        #expect(GGUFValue.bool(false).boolValue == false)
        #expect(GGUFValue.array(.string(["a", "b"])).stringArray == ["a", "b"])
        #expect(GGUFValue.array(.int32([1, -2])).stringArray == nil)
        #expect(GGUFValue.array(.int32([1, -2])).intArray == [1, -2])
        #expect(GGUFValue.array(.uint64([1, .max])).intArray == nil)
        #expect(GGUFValue.array(.float32([0.5])).floatArray == [0.5])
        #expect(GGUFValue.array(.float64([0.25])).floatArray == [0.25])
        #expect(GGUFValue.array(.uint8([1])).floatArray == nil)
        #expect(GGUFArray.array([.uint8([1]), .bool([true])]).values == [.array(.uint8([1])), .array(.bool([true]))])
    }

    @Test func writerRejectsInvalidTensors() throws {
        var writer = GGUFWriter()
        try writer.addTensor(
            name: "w", dimensions: [32], type: .q8_0, bytes: GGUFSamples.tensorBytes(.q8_0, [32], seed: 1))
        let cases: [(String, [Int], GGMLType, Int, String)] = [
            ("w", [32], .q8_0, 34, "already added"),
            ("x", [32], .q8_0, 33, "34 bytes of data, but 33 were given"),
            ("x", [1, 1, 1, 1, 1], .f32, 4, "has 5 dimensions"),
            ("x", [], .f32, 0, "has 0 dimensions"),
            ("x", [4, 0], .f32, 0, "dimension 1 is 0"),
            ("x", [4, -2], .f32, 0, "dimension 1 is -2"),
            ("x", [48], .q4_0, 27, "not a multiple of the Q4_0 block size 32"),
            ("x", [1 << 40, 1 << 40], .f32, 0, "more elements than Int can count"),
            (String(repeating: "n", count: 64), [1], .f32, 4, "the name has 64 bytes; llama.cpp accepts at most 63"),
        ]
        for (name, dimensions, type, byteCount, expected) in cases {
            #expect {
                try writer.addTensor(
                    name: name, dimensions: dimensions, type: type, bytes: [UInt8](repeating: 0, count: byteCount))
            } throws: { error in
                guard let error = error as? GGUFError else { return false }
                return error.kind == .invalidWriterInput && error.description.contains(expected)
                    && error.description.contains("tensor '\(name)'")
            }
        }
        #expect(writer.tensors.count == 1)
    }

    @Test func writerRejectsInvalidAlignment() {
        for value in [GGUFValue.uint32(0), .uint32(48), .uint64(32), .string("32")] {
            var writer = GGUFWriter()
            writer.setMetadata("general.alignment", value)
            #expect {
                try writer.serialized()
            } throws: { error in
                (error as? GGUFError)?.kind == .invalidWriterInput
                    && "\(error)".contains("general.alignment") && "\(error)".contains("power of two")
            }
        }
    }

    @Test func version2FileOpens() throws {
        var bytes = try GGUFSamples.corruptibleModel().serialized()
        GGUFSamples.patch(&bytes, at: 4, with: UInt32(2))
        let directory = try TemporaryDirectory()
        let file = try GGUFFile(path: directory.write(bytes))
        #expect(file.version == 2)
        #expect(file.tensors.count == 3)
    }

    @Test func inspectReportListsMetadataAndTensors() throws {
        var writer = try GGUFSamples.corruptibleModel()
        writer.setMetadata("test.vocabulary", .array(.string((0..<100).map { "token\($0)" })))
        writer.setMetadata("test.scores", .array(.float32([Float](repeating: 0.5, count: 9))))
        writer.setMetadata("test.template", .string("{% for m in messages %}\n" + String(repeating: "x", count: 100)))
        writer.setMetadata("test.control", .string("a\u{1}\"b\""))
        let directory = try TemporaryDirectory()
        let path = try directory.write(writer.serialized())
        let file = try GGUFFile(path: path)
        let report = file.inspectReport()
        let lines = report.split(separator: "\n").map(String.init)

        #expect(report.contains(path))
        #expect(report.contains("10 metadata keys, 3 tensors (F32 1, Q4_1 1, Q8_0 1)"))
        func line(_ key: String) throws -> String {
            try #require(lines.first { $0.hasPrefix("  \(key) ") }, "no report line for \(key)")
        }
        #expect(try line("test.vocabulary").contains("[string]"))
        #expect(try line("test.vocabulary").hasSuffix("[100 strings]"))
        #expect(try line("test.scores").hasSuffix("[9 float32]"))
        #expect(try line("test.tokens").hasSuffix("[\"<s>\", \"hello\", \"world\"]"))
        #expect(try line("test.count").contains(" uint32 "))
        #expect(try line("test.count").hasSuffix(" 7"))
        #expect(try line("test.template").contains("\\n"))
        #expect(try line("test.template").hasSuffix("(124 bytes)"))
        #expect(try line("test.control").hasSuffix(#""a\u{1}\"b\"""#))
        let gamma = try #require(file.tensor(named: "tensor.gamma"))
        let gammaLine = try line("tensor.gamma")
        #expect(gammaLine.contains(" Q4_1 "))
        #expect(gammaLine.contains(" 32 x 2 "))
        #expect(gammaLine.contains(" \(gamma.offset) "))
        #expect(gammaLine.hasSuffix(" \(gamma.byteCount)"))
    }
}
