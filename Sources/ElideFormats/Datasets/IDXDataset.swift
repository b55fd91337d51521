/// Loads image sets stored as a pair of raw IDX files, the format of MNIST and Fashion-MNIST.
///
/// An IDX file starts with two zero bytes, a type byte (0x08 for unsigned bytes) and a dimension count,
/// followed by one big-endian 32-bit size per dimension and the data. Images have three dimensions
/// (count, rows, columns) and labels one (count). Files must be gunzipped first, as `scripts/fetch-assets`
/// leaves them.
public enum IDXDataset {
    /// Loads the images and labels and checks that they agree in count.
    ///
    /// - Parameter classCount: labels must be in `0 ..< classCount`; 10 for MNIST and Fashion-MNIST.
    public static func load(imagesPath: String, labelsPath: String, classCount: Int = 10) throws -> LabeledImageSet {
        let images = try readIDX(path: imagesPath, dimensions: 3, what: "images")
        let labels = try readIDX(path: labelsPath, dimensions: 1, what: "labels")
        let imageCount = images.sizes[0]
        let height = images.sizes[1]
        let width = images.sizes[2]
        guard labels.sizes[0] == imageCount else {
            throw DatasetError(
                .invalidValue, path: labelsPath, location: "byte 4",
                problem: "the labels file holds \(labels.sizes[0]) labels but '\(imagesPath)' holds \(imageCount) "
                    + "images",
                remedy: "Pass the labels file that belongs to the images file (train with train, t10k with t10k).")
        }
        var labelValues = [Int]()
        labelValues.reserveCapacity(imageCount)
        for index in 0..<imageCount {
            let label = Int(labels.bytes[labels.dataOffset + index])
            guard label < classCount else {
                throw DatasetError(
                    .invalidValue, path: labelsPath, location: "byte \(labels.dataOffset + index) (label \(index))",
                    problem: "label \(label) is outside 0..<\(classCount)",
                    remedy: "Pass the class count of this data set, or check that this is a labels file.")
            }
            labelValues.append(label)
        }
        let start = images.dataOffset
        return LabeledImageSet(
            uncheckedChannels: 1, height: height, width: width, classCount: classCount,
            pixels: Array(images.bytes[start..<start + imageCount * height * width]), labels: labelValues)
    }

    /// The bytes of an IDX file of unsigned bytes whose header has been checked.
    struct IDXFile {
        let bytes: [UInt8]
        let sizes: [Int]
        let dataOffset: Int
    }

    /// Reads an IDX file of unsigned bytes with `dimensions` dimensions and checks that its length matches
    /// the sizes in its header exactly.
    static func readIDX(path: String, dimensions: Int, what: String) throws -> IDXFile {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(path)
        } catch {
            throw DatasetError(.cannotOpen, path: path, problem: "cannot read the \(what) file: \(error.reason)")
        }

        let expectedMagic = UInt32(0x0800 | dimensions)
        guard bytes.count >= 4 else {
            throw DatasetError(
                .truncated, path: path, location: "byte 0",
                problem: "the file has \(bytes.count) bytes, too few for an IDX magic number")
        }
        let magic = readBigEndianUInt32(bytes, at: 0)
        guard magic == expectedMagic else {
            var problem =
                "invalid magic number \(hex(magic)), expected \(hex(expectedMagic)) (IDX of unsigned bytes with "
                + "\(dimensions) dimension\(dimensions == 1 ? "" : "s"), as in \(what) files)"
            if bytes[0] == 0x1f && bytes[1] == 0x8b { problem += "; the file is gzip-compressed" }
            throw DatasetError(.badMagic, path: path, location: "byte 0", problem: problem)
        }

        let headerSize = 4 + 4 * dimensions
        guard bytes.count >= headerSize else {
            throw DatasetError(
                .truncated, path: path, location: "byte \(bytes.count)",
                problem: "the file ends inside its \(headerSize)-byte header")
        }
        let sizes = (0..<dimensions).map { Int(readBigEndianUInt32(bytes, at: 4 + 4 * $0)) }
        if let index = sizes.indices.dropFirst().first(where: { sizes[$0] == 0 }) {
            throw DatasetError(
                .invalidValue, path: path, location: "byte \(4 + 4 * index)",
                problem: "dimension \(index) has size 0, but every image needs at least one row and one column")
        }

        // Three 32-bit sizes can overflow Int when multiplied; such a header cannot match any real file.
        var dataBytes = 1
        var overflow = false
        for size in sizes where !overflow {
            (dataBytes, overflow) = dataBytes.multipliedReportingOverflow(by: size)
        }
        let expected = overflow ? Int.max : headerSize + dataBytes
        guard bytes.count == expected else {
            let sizeText = sizes.map(String.init).joined(separator: "×")
            let expectedText = overflow ? "more than \(Int.max)" : String(expected)
            throw DatasetError(
                bytes.count < expected ? .truncated : .invalidValue, path: path,
                location: "byte \(min(bytes.count, expected))",
                problem: "a header of \(sizeText) needs \(expectedText) bytes, the file has \(bytes.count)")
        }
        return IDXFile(bytes: bytes, sizes: sizes, dataOffset: headerSize)
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}

func readBigEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
        | UInt32(bytes[offset + 3])
}
