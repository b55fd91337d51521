import CJPEG

#if canImport(Glibc)
    import Glibc
#endif

extension PixelImage {
    /// Decodes JPEG bytes with libjpeg-turbo; `path` only names the source in errors.
    ///
    /// One-component files become grey, all others RGB. libjpeg's fatal errors and its corrupt-data warnings
    /// (a truncated file, damaged compressed data) both fail with libjpeg's message: the C function
    /// `elide_jpeg_decode` in Sources/CJPEG/shim.h catches them with setjmp, so the process never exits and
    /// no longjmp crosses a Swift frame. CMYK and YCCK files fail, as libjpeg cannot convert them to RGB.
    static func decodeJPEG(_ bytes: [UInt8], path: String?) throws -> PixelImage {
        var width: Int32 = 0
        var height: Int32 = 0
        var components: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let decoded = bytes.withUnsafeBufferPointer { buffer in
            message.withUnsafeMutableBufferPointer { text in
                elide_jpeg_decode(
                    buffer.baseAddress, UInt(buffer.count), UInt(maximumPixelCount), &width, &height, &components,
                    text.baseAddress, text.count)
            }
        }
        guard let decoded else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let tooLarge = text.contains("more than the")
            throw ImageError(tooLarge ? .tooLarge : .decodeFailed, path: path, problem: "libjpeg: \(text)")
        }
        defer { free(decoded) }
        let count = Int(width) * Int(height) * Int(components)
        let pixels = Array(UnsafeBufferPointer(start: decoded, count: count))
        return PixelImage(uncheckedWidth: Int(width), height: Int(height), channels: Int(components), pixels: pixels)
    }
}
