/// An 8-bit grey or RGB image held in memory.
///
/// Pixels are row-major, interleaved (HWC): the pixel at column x of row y starts at
/// `(y × width + x) × channels`. `load(path:)` decodes PNG (libpng) and JPEG (libjpeg-turbo) files. It drops
/// alpha, keeping the stored colour without compositing, and reduces 16-bit samples to 8 bits.
public struct PixelImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// 1 (grey) or 3 (RGB).
    public let channels: Int
    /// `height × width × channels` bytes, HWC.
    public let pixels: [UInt8]

    /// The largest image `load(path:)` accepts, in pixels (about 10,000 × 10,000).
    public static let maximumPixelCount = 100_000_000

    /// Checks that the shape is positive, that `channels` is 1 or 3 and that `pixels` has the matching count.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0 else {
            throw ImageError(.invalidInput, path: nil, problem: "image size \(width)×\(height) has a side below 1")
        }
        guard channels == 1 || channels == 3 else {
            throw ImageError(.invalidInput, path: nil, problem: "\(channels) channels; expected 1 (grey) or 3 (RGB)")
        }
        guard pixels.count == width * height * channels else {
            throw ImageError(
                .invalidInput, path: nil,
                problem: "\(pixels.count) pixel bytes for a \(width)×\(height) image of \(channels) channel(s); "
                    + "expected \(width * height * channels)")
        }
        self.init(uncheckedWidth: width, height: height, channels: channels, pixels: pixels)
    }

    init(uncheckedWidth width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Decodes the PNG or JPEG file at `path`, recognised by its first bytes rather than its name.
    public static func load(path: String) throws -> PixelImage {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(path)
        } catch {
            throw ImageError(.cannotOpen, path: path, problem: "cannot read it: \(error.reason)")
        }
        if bytes.starts(with: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) {
            return try decodePNG(bytes, path: path)
        }
        if bytes.starts(with: [0xff, 0xd8, 0xff]) {
            return try decodeJPEG(bytes, path: path)
        }
        let head = bytes.prefix(8).map { String($0, radix: 16) }.joined(separator: " ")
        throw ImageError(
            .unknownFormat, path: path,
            problem: "the file starts with bytes [\(head)], which is neither the PNG nor the JPEG signature")
    }

    /// The rectangle of `width × height` pixels whose top-left corner is at column `x`, row `y`; it must lie
    /// inside the image.
    public func cropped(x: Int, y: Int, width: Int, height: Int) -> PixelImage {
        precondition(
            x >= 0 && y >= 0 && width > 0 && height > 0 && x + width <= self.width && y + height <= self.height,
            "PixelImage.cropped: rectangle at (\(x), \(y)) of \(width)×\(height) is not inside the "
                + "\(self.width)×\(self.height) image")
        var result = [UInt8]()
        result.reserveCapacity(width * height * channels)
        let rowBytes = self.width * channels
        for row in y..<y + height {
            let start = row * rowBytes + x * channels
            result.append(contentsOf: pixels[start..<start + width * channels])
        }
        return PixelImage(uncheckedWidth: width, height: height, channels: channels, pixels: result)
    }

    /// Returns the image with three channels: grey is copied into red, green and blue, and an RGB image is
    /// returned unchanged.
    public func rgb() -> PixelImage {
        guard channels == 1 else { return self }
        var result = [UInt8]()
        result.reserveCapacity(pixels.count * 3)
        for value in pixels { result.append(contentsOf: [value, value, value]) }
        return PixelImage(uncheckedWidth: width, height: height, channels: 3, pixels: result)
    }

    /// Returns the value of channel `channel` at column `x`, row `y`.
    public subscript(x: Int, y: Int, channel: Int) -> UInt8 {
        pixels[(y * width + x) * channels + channel]
    }

    /// Computes the mean of each channel over the whole image, in 0...255.
    public func channelMeans() -> [Double] {
        var sums = [Double](repeating: 0, count: channels)
        for (index, value) in pixels.enumerated() { sums[index % channels] += Double(value) }
        return sums.map { $0 / Double(width * height) }
    }
}
