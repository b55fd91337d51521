import Testing

@testable import ElideFormats

/// `LabeledImageSet` validation, subsets and its serialized form.
@Suite struct DatasetLabeledImageSetTests {
    static func sample() throws -> LabeledImageSet {
        try LabeledImageSet(
            channels: 3, height: 2, width: 2, classCount: 100, pixels: (0..<36).map { UInt8($0 * 7 % 256) },
            labels: [42, 0, 99])
    }

    @Test func initializerChecksShapeAndLabels() throws {
        let short = try #require(throws: DatasetError.self) {
            try LabeledImageSet(channels: 1, height: 2, width: 2, classCount: 10, pixels: [1, 2, 3], labels: [0])
        }
        #expect(short.description.contains("3 pixel bytes do not hold 1 images of 4 bytes"))
        let label = try #require(throws: DatasetError.self) {
            try LabeledImageSet(channels: 1, height: 1, width: 1, classCount: 10, pixels: [1, 2], labels: [0, 10])
        }
        #expect(label.description.contains("image 1: label 10 is outside 0..<10"))
        #expect(throws: DatasetError.self) {
            try LabeledImageSet(channels: 0, height: 1, width: 1, classCount: 10, pixels: [], labels: [])
        }
    }

    @Test func subsetKeepsTheGivenOrder() throws {
        let set = try Self.sample()
        let subset = set.subset([2, 0, 2])
        #expect(subset.labels == [99, 42, 99])
        #expect(Array(subset.image(0)) == Array(set.image(2)))
        #expect(Array(subset.image(1)) == Array(set.image(0)))
        #expect(shape(subset.classCount, subset.channels) == [100, 3])
        #expect(set.subset([]).count == 0)
    }

    @Test func serializedFormRoundTrips() throws {
        let set = try Self.sample()
        let bytes = set.serialized()
        #expect(bytes.count == 28 + 36 + 3 * 4)
        #expect(Array(bytes.prefix(4)) == Array("ELIS".utf8))
        #expect(try LabeledImageSet(serialized: bytes) == set)
        let empty = set.subset([])
        #expect(try LabeledImageSet(serialized: empty.serialized()) == empty)
    }

    @Test func damagedSerializedFormsFail() throws {
        let bytes = try Self.sample().serialized()
        var badMagic = bytes
        badMagic[0] = UInt8(ascii: "X")
        #expect(try #require(throws: DatasetError.self) { try LabeledImageSet(serialized: badMagic) }.kind == .badMagic)
        let short = Array(bytes.dropLast())
        #expect(try #require(throws: DatasetError.self) { try LabeledImageSet(serialized: short) }.kind == .truncated)
        var badLabel = bytes
        badLabel[bytes.count - 4] = 100
        let error = try #require(throws: DatasetError.self) { try LabeledImageSet(serialized: badLabel) }
        #expect(error.description.contains("label 100 is outside 0..<100"))
        var badVersion = bytes
        badVersion[4] = 2
        #expect(throws: DatasetError.self) { try LabeledImageSet(serialized: badVersion) }
    }
}
