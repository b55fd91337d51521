/// Loads the binary version of CIFAR-10 and CIFAR-100 (`data_batch_1.bin`, `train.bin`, ...).
///
/// Each record is the label byte or bytes followed by 3,072 pixel bytes: the 32×32 red plane, then green, then
/// blue, each row by row, which is already the CHW layout of `LabeledImageSet`.
public enum CIFARBinary {
    /// The file layout and the labels to read.
    public enum Variant: String, Sendable, CaseIterable {
        /// CIFAR-10: 1 label byte (10 classes) + 3,072 pixel bytes per record.
        case cifar10
        /// CIFAR-100 with its 100 fine labels: coarse byte, fine byte, 3,072 pixel bytes per record.
        case cifar100Fine
        /// CIFAR-100 with its 20 coarse (superclass) labels; same records as `cifar100Fine`.
        case cifar100Coarse

        /// The number of label bytes before the pixels of each record.
        var labelBytes: Int { self == .cifar10 ? 1 : 2 }
        /// Offset of the label this variant reads within a record.
        var labelOffset: Int { self == .cifar100Fine ? 1 : 0 }
        /// The number of classes of that label.
        public var classCount: Int {
            switch self {
            case .cifar10: return 10
            case .cifar100Fine: return 100
            case .cifar100Coarse: return 20
            }
        }
    }

    /// Bytes of one 32×32 RGB image.
    static let imageBytes = 3 * 32 * 32

    /// Loads every record of the file at `path`.
    public static func load(path: String, variant: Variant) throws -> LabeledImageSet {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(path)
        } catch {
            throw DatasetError(.cannotOpen, path: path, problem: "cannot read the CIFAR file: \(error.reason)")
        }
        let recordBytes = variant.labelBytes + imageBytes
        guard !bytes.isEmpty, bytes.count % recordBytes == 0 else {
            throw DatasetError(
                .truncated, path: path, location: "byte \(bytes.count - bytes.count % recordBytes)",
                problem: "the file has \(bytes.count) bytes, not a positive whole number of \(recordBytes)-byte "
                    + "\(variant.rawValue) records (\(variant.labelBytes) label byte\(variant.labelBytes == 1 ? "" : "s") "
                    + "+ \(imageBytes) pixel bytes)",
                remedy: "Check the variant (cifar10 records have 1 label byte, cifar100 records 2) and that the file "
                    + "is the binary version, complete and not gzipped.")
        }
        let count = bytes.count / recordBytes
        var pixels = [UInt8]()
        pixels.reserveCapacity(count * imageBytes)
        var labels = [Int]()
        labels.reserveCapacity(count)
        for record in 0..<count {
            let start = record * recordBytes
            let label = Int(bytes[start + variant.labelOffset])
            guard label < variant.classCount else {
                throw DatasetError(
                    .invalidValue, path: path, location: "record \(record), byte \(start + variant.labelOffset)",
                    problem: "label \(label) is outside 0..<\(variant.classCount) for \(variant.rawValue)",
                    remedy: "Check the variant: CIFAR-100 files need cifar100Fine or cifar100Coarse.")
            }
            labels.append(label)
            pixels.append(contentsOf: bytes[start + variant.labelBytes..<start + recordBytes])
        }
        return LabeledImageSet(
            uncheckedChannels: 3, height: 32, width: 32, classCount: variant.classCount, pixels: pixels,
            labels: labels)
    }
}
