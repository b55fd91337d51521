/// A set of same-sized images with one class label each, held as 8-bit pixels.
///
/// Pixels are stored image after image, each image channel-major (CHW: all of channel 0 row by row, then
/// channel 1, ...), with values 0...255. MNIST and Fashion-MNIST keep their convention of 0 = background
/// (black) and 255 = ink; FEMNIST from LEAF is converted to the same convention (see `LEAFDataset`).
public struct LabeledImageSet: Sendable, Equatable {
    /// 1 for MNIST, Fashion-MNIST and FEMNIST, 3 for CIFAR.
    public let channels: Int
    public let height: Int
    public let width: Int
    /// The number of classes: 10 for MNIST, Fashion-MNIST and CIFAR-10, 100 (fine) or 20 (coarse) for
    /// CIFAR-100, 62 for FEMNIST.
    public let classCount: Int
    /// `count × channels × height × width` bytes, CHW per image.
    public let pixels: [UInt8]
    /// One label per image, each in `0 ..< classCount`.
    public let labels: [Int]

    /// The number of images.
    public var count: Int { labels.count }
    /// The number of bytes in one image.
    public var pixelsPerImage: Int { channels * height * width }

    /// Checks that the shape is positive, that `pixels` contains exactly one image per label and that every
    /// label is in `0 ..< classCount`.
    public init(channels: Int, height: Int, width: Int, classCount: Int, pixels: [UInt8], labels: [Int]) throws {
        guard channels > 0, height > 0, width > 0 else {
            throw DatasetError(
                .invalidInput, path: nil,
                problem: "image shape \(channels)×\(height)×\(width) (channels×height×width) has a dimension "
                    + "below 1")
        }
        guard classCount > 0 else {
            throw DatasetError(.invalidInput, path: nil, problem: "class count \(classCount) is below 1")
        }
        let perImage = channels * height * width
        guard pixels.count == labels.count * perImage else {
            throw DatasetError(
                .invalidInput, path: nil,
                problem: "\(pixels.count) pixel bytes do not hold \(labels.count) images of \(perImage) bytes "
                    + "(expected \(labels.count * perImage))")
        }
        if let index = labels.firstIndex(where: { !(0..<classCount).contains($0) }) {
            throw DatasetError(
                .invalidInput, path: nil, location: "image \(index)",
                problem: "label \(labels[index]) is outside 0..<\(classCount)")
        }
        self.channels = channels
        self.height = height
        self.width = width
        self.classCount = classCount
        self.pixels = pixels
        self.labels = labels
    }

    /// Builds a set from parts already known to be consistent.
    init(uncheckedChannels channels: Int, height: Int, width: Int, classCount: Int, pixels: [UInt8], labels: [Int]) {
        self.channels = channels
        self.height = height
        self.width = width
        self.classCount = classCount
        self.pixels = pixels
        self.labels = labels
    }

    /// Returns the images at `indices`, in that order (an index may repeat). Every index must be in `0 ..< count`.
    public func subset(_ indices: [Int]) -> LabeledImageSet {
        let perImage = pixelsPerImage
        var subsetPixels = [UInt8]()
        subsetPixels.reserveCapacity(indices.count * perImage)
        var subsetLabels = [Int]()
        subsetLabels.reserveCapacity(indices.count)
        for index in indices {
            precondition(
                (0..<count).contains(index), "LabeledImageSet.subset: index \(index) is outside 0..<\(count)")
            subsetPixels.append(contentsOf: pixels[index * perImage..<(index + 1) * perImage])
            subsetLabels.append(labels[index])
        }
        return LabeledImageSet(
            uncheckedChannels: channels, height: height, width: width, classCount: classCount,
            pixels: subsetPixels, labels: subsetLabels)
    }

    /// Returns the pixels of image `index` (CHW), a slice of `pixels`.
    public func image(_ index: Int) -> ArraySlice<UInt8> {
        precondition((0..<count).contains(index), "LabeledImageSet.image: index \(index) is outside 0..<\(count)")
        return pixels[index * pixelsPerImage..<(index + 1) * pixelsPerImage]
    }

    /// Counts the images of each label: element `c` of the result counts label `c`.
    public func labelHistogram() -> [Int] {
        var histogram = [Int](repeating: 0, count: classCount)
        for label in labels { histogram[label] += 1 }
        return histogram
    }
}
