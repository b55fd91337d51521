import Testing

@testable import ElideFormats

/// CIFAR-10 and CIFAR-100 binary files written by the tests.
@Suite struct DatasetCIFARTests {
    /// Records with the given label bytes and a pixel pattern that depends on the record number.
    static func records(_ labelBytes: [[UInt8]]) -> [UInt8] {
        labelBytes.enumerated().flatMap { record, labels in
            labels + (0..<3072).map { UInt8(($0 + 7 * record) % 256) }
        }
    }

    @Test func cifar10RecordsLoadAsCHWImages() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write(Self.records([[3], [9], [0]]), named: "data_batch_1.bin")
        let set = try CIFARBinary.load(path: path, variant: .cifar10)
        #expect(shape(set.count, set.channels, set.height, set.width, set.classCount) == [3, 3, 32, 32, 10])
        #expect(set.labels == [3, 9, 0])
        let second = Array(set.image(1))
        #expect(second.count == 3072)
        #expect([second[0], second[1024], second[3071]] == [7, UInt8((1024 + 7) % 256), UInt8((3071 + 7) % 256)])
    }

    @Test func cifar100ReadsFineOrCoarseLabels() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write(Self.records([[19, 99], [4, 30]]), named: "train.bin")
        let fine = try CIFARBinary.load(path: path, variant: .cifar100Fine)
        let coarse = try CIFARBinary.load(path: path, variant: .cifar100Coarse)
        #expect(fine.labels == [99, 30])
        #expect(fine.classCount == 100)
        #expect(coarse.labels == [19, 4])
        #expect(coarse.classCount == 20)
        #expect(fine.pixels == coarse.pixels)
        #expect(fine.image(0).first == 0)
        #expect(fine.image(1).first == 7)
    }

    @Test func wrongSizesAndLabelsFailClearly() throws {
        let directory = try TemporaryDirectory()
        let cifar100 = try directory.write(Self.records([[1, 2], [3, 4]]), named: "test.bin")
        let wrongVariant = try #require(throws: DatasetError.self) {
            try CIFARBinary.load(path: cifar100, variant: .cifar10)
        }
        #expect(wrongVariant.kind == .truncated)
        #expect(
            wrongVariant.description.contains("6148 bytes, not a positive whole number of 3073-byte cifar10 records"))

        let badLabel = try directory.write(Self.records([[2], [10]]), named: "bad.bin")
        let error = try #require(throws: DatasetError.self) { try CIFARBinary.load(path: badLabel, variant: .cifar10) }
        #expect(error.kind == .invalidValue)
        #expect(error.description.contains("record 1, byte 3073: label 10 is outside 0..<10"))

        let empty = try directory.write([], named: "empty.bin")
        #expect(throws: DatasetError.self) { try CIFARBinary.load(path: empty, variant: .cifar100Fine) }
    }
}
