/// Loads a LEAF FEMNIST JSON file: one `LabeledImageSet` of 28×28 grey images per writer ("user").
///
/// The file is `{"users": [...], "num_samples": [...], "user_data": {user: {"x": [[784 numbers]], "y": [...]}}}`;
/// other top-level members (LEAF's "hierarchies") are skipped. LEAF stores each pixel as a number in 0...1 with
/// 1.0 for the white background and dark ink. Elide converts them to the MNIST convention, 0 for the background
/// and 255 for full ink: `pixel = round((1 - x) × 255)`, clamped to 0...255. Pass `invert: false` to keep LEAF's
/// polarity (`round(x × 255)`).
public enum LEAFDataset {
    /// FEMNIST's classes: 10 digits, 26 upper-case and 26 lower-case letters.
    public static let femnistClassCount = 62

    /// Loads the writers of the file, each with their images, in the order of its "users" list (or of
    /// "user_data" when the list is absent).
    ///
    /// - Parameters:
    ///   - classCount: labels must be in `0 ..< classCount`.
    ///   - invert: convert LEAF's white background to 0 (the MNIST convention); see the type's documentation.
    public static func load(path: String, classCount: Int = femnistClassCount, invert: Bool = true) throws -> [(
        user: String, data: LabeledImageSet
    )] {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(path)
        } catch {
            throw DatasetError(.cannotOpen, path: path, problem: "cannot read the LEAF file: \(error.reason)")
        }
        return try parse(bytes: bytes, path: path, classCount: classCount, invert: invert)
    }

    /// Parses LEAF JSON text already in memory; `path` only names the source in errors.
    static func parse(bytes: [UInt8], path: String?, classCount: Int, invert: Bool) throws -> [(
        user: String, data: LabeledImageSet
    )] {
        var scanner = JSONScanner(bytes: bytes, path: path)
        var users: [String]?
        var sampleCounts: [Int]?
        var sets: [String: LabeledImageSet] = [:]
        var dataOrder: [String] = []
        try scanner.readObject("the top-level object") { scanner, key in
            switch key {
            case "users":
                var list = [String]()
                try scanner.readArray("\"users\"") { list.append(try $0.readString("\"users\"")) }
                users = list
            case "num_samples":
                var list = [Int]()
                try scanner.readArray("\"num_samples\"") { list.append(try $0.readInteger("\"num_samples\"")) }
                sampleCounts = list
            case "user_data":
                try scanner.readObject("\"user_data\"") { scanner, user in
                    guard sets[user] == nil else {
                        throw scanner.error("user \"\(user)\" appears twice in \"user_data\"")
                    }
                    sets[user] = try readUser(&scanner, user: user, classCount: classCount, invert: invert)
                    dataOrder.append(user)
                }
            default:
                try scanner.skipValue("\"\(key)\"")
            }
        }
        try scanner.expectEnd()

        guard !dataOrder.isEmpty || users != nil else {
            throw DatasetError(
                .invalidJSON, path: path, location: "top-level object",
                problem: "the file has no \"user_data\" member; expected LEAF's {\"users\", \"num_samples\", "
                    + "\"user_data\"}")
        }
        let order = users ?? dataOrder
        if let sampleCounts, sampleCounts.count != order.count {
            throw DatasetError(
                .invalidJSON, path: path, location: "field \"num_samples\"",
                problem: "\"num_samples\" has \(sampleCounts.count) entries for \(order.count) users")
        }
        return try order.enumerated().map { index, user in
            guard let set = sets[user] else {
                throw DatasetError(
                    .invalidJSON, path: path, location: "field \"users\"",
                    problem: "user \"\(user)\" is listed in \"users\" but has no entry in \"user_data\"")
            }
            if let sampleCounts, sampleCounts[index] != set.count {
                throw DatasetError(
                    .invalidJSON, path: path, location: "field \"num_samples\"",
                    problem: "\"num_samples\" says user \"\(user)\" has \(sampleCounts[index]) samples, "
                        + "\"user_data\" contains \(set.count)")
            }
            return (user, set)
        }
    }

    /// Reads `{"x": [[...], ...], "y": [...]}` for one user.
    private static func readUser(_ scanner: inout JSONScanner, user: String, classCount: Int, invert: Bool)
        throws -> LabeledImageSet
    {
        var images = UserImages()
        var labels: [Int]?
        let userStart = scanner.offset
        try scanner.readObject("user \"\(user)\"") { scanner, key in
            switch key {
            case "x":
                try readImages(&scanner, user: user, invert: invert, into: &images)
            case "y":
                labels = try readLabels(&scanner, user: user, classCount: classCount)
            default:
                try scanner.skipValue("\"\(key)\" of user \"\(user)\"")
            }
        }

        guard let labels else { throw scanner.error("user \"\(user)\" has no \"y\" member", at: userStart) }
        guard labels.count == images.count else {
            throw scanner.error(
                "user \"\(user)\" has \(images.count) images in \"x\" but \(labels.count) labels in \"y\"",
                at: userStart)
        }
        // A user without images gets FEMNIST's 28×28 shape.
        let size = images.imageSize ?? 784
        let side = Int(Double(size).squareRoot().rounded())
        guard side > 0, side * side == size else {
            throw scanner.error(
                "images of user \"\(user)\" have \(size) pixels, not a square image (FEMNIST has 28×28 = 784)",
                at: userStart)
        }
        return LabeledImageSet(
            uncheckedChannels: 1, height: side, width: side, classCount: classCount, pixels: images.pixels,
            labels: labels)
    }

    /// The images of one user read so far.
    private struct UserImages {
        var pixels = [UInt8]()
        var count = 0
        /// Pixels per image, set by the first image.
        var imageSize: Int?
    }

    /// Reads the "x" array of one user, converting each value to a byte (see the type's documentation).
    private static func readImages(
        _ scanner: inout JSONScanner, user: String, invert: Bool, into images: inout UserImages
    ) throws {
        try scanner.readArray("\"x\" of user \"\(user)\"") { scanner in
            let start = scanner.offset
            let before = images.pixels.count
            try scanner.readArray("image \(images.count) of user \"\(user)\"") { scanner in
                let value = try scanner.readNumber("image \(images.count) of user \"\(user)\"")
                let scaled = (invert ? 1 - value : value) * 255
                images.pixels.append(UInt8(max(0, min(255, scaled.rounded()))))
            }

            let size = images.pixels.count - before
            if let imageSize = images.imageSize, size != imageSize {
                throw scanner.error(
                    "image \(images.count) of user \"\(user)\" has \(size) pixels, image 0 has \(imageSize)",
                    at: start)
            }
            images.imageSize = size
            images.count += 1
        }
    }

    /// Reads the "y" array of one user, checking each label against `classCount`.
    private static func readLabels(_ scanner: inout JSONScanner, user: String, classCount: Int) throws -> [Int] {
        var labels = [Int]()
        try scanner.readArray("\"y\" of user \"\(user)\"") { scanner in
            let start = scanner.offset
            let label = try scanner.readInteger("\"y\" of user \"\(user)\"")
            guard (0..<classCount).contains(label) else {
                throw scanner.error("label \(label) of user \"\(user)\" is outside 0..<\(classCount)", at: start)
            }
            labels.append(label)
        }
        return labels
    }
}
