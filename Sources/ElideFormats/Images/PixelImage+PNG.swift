import CPNG

#if canImport(Glibc)
    import Glibc
#endif

// PNG goes through libpng's simplified API (png_image_*), which catches libpng's errors itself and reports them
// in png_image.message, so no longjmp ever crosses a Swift frame. Its transforms expand palettes and low bit
// depths, undo interlacing and reduce 16-bit samples to 8 bits.

extension PixelImage {
    /// Decodes PNG bytes; `path` only names the source in errors.
    ///
    /// Grey, grey+alpha and grey with tRNS become 1 channel; RGB, RGBA and palette images become 3. Alpha is
    /// dropped without compositing. 16-bit samples without a gAMA or sRGB chunk are taken as sRGB-encoded,
    /// so they are scaled to 8 bits (value / 257, rounded) rather than gamma-converted. libpng 1.6's
    /// simplified API converts files whose gAMA chunk differs from sRGB to sRGB.
    static func decodePNG(_ bytes: [UInt8], path: String?) throws -> PixelImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let begun = bytes.withUnsafeBytes { buffer in
            png_image_begin_read_from_memory(&image, buffer.baseAddress, buffer.count)
        }
        guard begun != 0 else {
            throw ImageError(.decodeFailed, path: path, problem: "libpng: \(message(of: &image))")
        }
        let width = Int(image.width)
        let height = Int(image.height)
        guard width * height <= maximumPixelCount else {
            png_image_free(&image)
            throw ImageError(
                .tooLarge, path: path,
                problem: "the image is \(width)×\(height) pixels, more than \(maximumPixelCount)")
        }

        // Ask for 8-bit grey or RGB, with alpha when the file has it, so libpng never composites.
        let color = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        let alpha = image.format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0
        let channels = color ? 3 : 1
        let decodedChannels = channels + (alpha ? 1 : 0)
        image.format = (color ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0) | (alpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        var decoded = [UInt8](repeating: 0, count: width * height * decodedChannels)
        let finished = decoded.withUnsafeMutableBytes { buffer in
            png_image_finish_read(&image, nil, buffer.baseAddress, 0, nil)
        }
        guard finished != 0 else {
            throw ImageError(.decodeFailed, path: path, problem: "libpng: \(message(of: &image))")
        }

        let pixels = alpha ? dropLastChannel(decoded, channels: channels, pixelCount: width * height) : decoded
        return PixelImage(uncheckedWidth: width, height: height, channels: channels, pixels: pixels)
    }

    /// Copies interleaved pixels of `channels + 1` samples without their last (alpha) sample.
    private static func dropLastChannel(_ decoded: [UInt8], channels: Int, pixelCount: Int) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: pixelCount * channels)
        for pixel in 0..<pixelCount {
            for channel in 0..<channels {
                pixels[pixel * channels + channel] = decoded[pixel * (channels + 1) + channel]
            }
        }
        return pixels
    }

    /// Encodes the image as an 8-bit grey or RGB PNG file in memory.
    public func encodedPNG() throws -> [UInt8] {
        var image = pngDescription()
        var size = 0
        // The first call, without a buffer, computes the size; the second writes.
        let sized = pixels.withUnsafeBytes { source in
            png_image_write_to_memory(&image, nil, &size, 0, source.baseAddress, 0, nil)
        }
        guard sized != 0 else {
            throw ImageError(.encodeFailed, path: nil, problem: "libpng: \(Self.message(of: &image))")
        }
        var encoded = [UInt8](repeating: 0, count: size)
        image = pngDescription()
        let written = encoded.withUnsafeMutableBytes { target in
            pixels.withUnsafeBytes { source in
                png_image_write_to_memory(&image, target.baseAddress, &size, 0, source.baseAddress, 0, nil)
            }
        }
        guard written != 0 else {
            throw ImageError(.encodeFailed, path: nil, problem: "libpng: \(Self.message(of: &image))")
        }
        return Array(encoded.prefix(size))
    }

    /// Writes the image as an 8-bit grey or RGB PNG file, replacing any file at `path`. The file is written
    /// under a temporary name in the same folder and renamed, so readers never see a partial file.
    public func writePNG(path: String) throws {
        let encoded = try encodedPNG()
        let temporary = "\(path).partial-\(getpid())"
        guard let file = fopen(temporary, "wb") else {
            throw ImageError(
                .cannotOpen, path: path, problem: "cannot create '\(temporary)': \(String(cString: strerror(errno)))")
        }
        let count = encoded.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let closed = fclose(file)
        guard count == encoded.count, closed == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ImageError(.encodeFailed, path: path, problem: "cannot write \(encoded.count) bytes: \(reason)")
        }
    }

    private func pngDescription() -> png_image {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = channels == 3 ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0
        return image
    }

    /// libpng's message from a failed simplified-API call.
    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let text = raw.prefix { $0 != 0 }
            return text.isEmpty ? "unknown error" : String(decoding: text, as: UTF8.self)
        }
    }
}
