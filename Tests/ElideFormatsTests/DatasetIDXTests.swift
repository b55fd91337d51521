import Foundation
import Testing

@testable import ElideFormats

/// IDX loading on the real MNIST and Fashion-MNIST files, and on damaged copies the tests write.
@Suite struct DatasetIDXTests {
    @Test func mnistHasItsKnownCountsAndLabels() throws {
        _ = try FetchedAssets.path("datasets/mnist/train-images-idx3-ubyte")
        let train = try StandardImageDataset.mnist.load(split: .train, elideHome: FetchedAssets.home)
        #expect(train.count == 60_000)
        #expect(shape(train.channels, train.height, train.width, train.classCount) == [1, 28, 28, 10])
        #expect(Array(train.labels.prefix(5)) == [5, 0, 4, 1, 9])
        #expect(train.labelHistogram() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
        // MNIST's well-known mean intensity is 0.1307 of full scale, about 33.3.
        let mean = Double(train.pixels.reduce(0) { $0 + Int($1) }) / Double(train.pixels.count)
        #expect(abs(mean - 33.32) < 0.1, "mean pixel \(mean)")

        let test = try StandardImageDataset.mnist.load(split: .test, elideHome: FetchedAssets.home)
        #expect(test.count == 10_000)
        #expect(Array(test.labels.prefix(5)) == [7, 2, 1, 0, 4])
        #expect(test.labelHistogram() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    }

    @Test func fashionMNISTIsBalanced() throws {
        _ = try FetchedAssets.path("datasets/fashion-mnist/train-images-idx3-ubyte")
        let train = try StandardImageDataset.fashionMNIST.load(split: .train, elideHome: FetchedAssets.home)
        let test = try StandardImageDataset.fashionMNIST.load(split: .test, elideHome: FetchedAssets.home)
        #expect(shape(train.count, test.count) == [60_000, 10_000])
        #expect(train.labelHistogram() == [Int](repeating: 6000, count: 10))
        #expect(test.labelHistogram() == [Int](repeating: 1000, count: 10))
        #expect(
            train.pixels != (try StandardImageDataset.mnist.load(split: .train, elideHome: FetchedAssets.home)).pixels)
    }

    @Test func missingDataSetNamesFetchAssets() throws {
        let directory = try TemporaryDirectory()
        let error = try #require(throws: DatasetError.self) {
            try StandardImageDataset.mnist.load(split: .test, elideHome: directory.path)
        }
        #expect(error.kind == .cannotOpen)
        #expect(error.description.contains("\(directory.path)/datasets/mnist/t10k-images-idx3-ubyte"))
        #expect(error.description.contains("scripts/fetch-assets"))
    }

    /// Builds a small IDX pair: `count` images of 3×2 pixels and their labels.
    static func idxPair(count: Int, labels: [UInt8]? = nil) -> (images: [UInt8], labels: [UInt8]) {
        let images: [UInt8] =
            [0, 0, 8, 3, 0, 0, 0, UInt8(count), 0, 0, 0, 3, 0, 0, 0, 2] + (0..<count * 6).map { UInt8($0) }
        let labelBytes: [UInt8] = [0, 0, 8, 1, 0, 0, 0, UInt8(count)] + (labels ?? (0..<count).map { UInt8($0 % 10) })
        return (images, labelBytes)
    }

    @Test func smallIDXPairLoads() throws {
        let directory = try TemporaryDirectory()
        let pair = Self.idxPair(count: 4)
        let set = try IDXDataset.load(
            imagesPath: directory.write(pair.images, named: "i"), labelsPath: directory.write(pair.labels, named: "l"))
        #expect(shape(set.count, set.height, set.width) == [4, 3, 2])
        #expect(Array(set.image(2)) == [12, 13, 14, 15, 16, 17])
        #expect(set.labels == [0, 1, 2, 3])
    }

    /// Loads a damaged pair and returns the error, checking it names the file.
    func loadError(images: [UInt8], labels: [UInt8], classCount: Int = 10) throws -> DatasetError {
        let directory = try TemporaryDirectory()
        let imagesPath = try directory.write(images, named: "images-idx3-ubyte")
        let labelsPath = try directory.write(labels, named: "labels-idx1-ubyte")
        let error = try #require(throws: DatasetError.self) {
            try IDXDataset.load(imagesPath: imagesPath, labelsPath: labelsPath, classCount: classCount)
        }
        #expect(error.description.contains(error.path ?? "no path"))
        #expect(error.path == imagesPath || error.path == labelsPath)
        return error
    }

    @Test func damagedIDXFilesFailClearly() throws {
        let pair = Self.idxPair(count: 4)

        let swapped = try loadError(images: pair.labels, labels: pair.images)
        #expect(swapped.kind == .badMagic)
        #expect(swapped.description.contains("invalid magic number 0x00000801, expected 0x00000803"))

        let gzipped = try loadError(images: [0x1f, 0x8b, 8, 0] + pair.images, labels: pair.labels)
        #expect(gzipped.kind == .badMagic)
        #expect(gzipped.description.contains("gzip"))

        let truncated = try loadError(images: Array(pair.images.dropLast(5)), labels: pair.labels)
        #expect(truncated.kind == .truncated)
        #expect(truncated.description.contains("needs 40 bytes, the file has 35"))

        let header = try loadError(images: Array(pair.images.prefix(10)), labels: pair.labels)
        #expect(header.kind == .truncated)
        #expect(header.description.contains("header"))

        let mismatch = try loadError(images: pair.images, labels: Self.idxPair(count: 3).labels)
        #expect(mismatch.kind == .invalidValue)
        #expect(mismatch.description.contains("3 labels but"))

        let outOfRange = try loadError(
            images: pair.images, labels: Self.idxPair(count: 4, labels: [1, 2, 12, 3]).labels)
        #expect(outOfRange.kind == .invalidValue)
        #expect(outOfRange.description.contains("byte 10 (label 2)"))
        #expect(outOfRange.description.contains("label 12 is outside 0..<10"))
    }
}
