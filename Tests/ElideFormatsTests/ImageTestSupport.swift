import Foundation
import Testing

@testable import ElideFormats

// Helpers for the image and dataset tests: where the fetched assets live, and a small PNG encoder that writes
// the variants libpng must decode (palette, low and 16-bit depths, alpha, Adam7 interlacing) without going
// through libpng itself.

/// The files `scripts/fetch-assets` installs under `${ELIDE_HOME:-~/.cache/elide}`.
enum FetchedAssets {
    static var home: String {
        ProcessInfo.processInfo.environment["ELIDE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "\(NSHomeDirectory())/.cache/elide"
    }

    /// Returns the path of `relative` under the assets folder. A missing file fails the test with the command to run.
    static func path(_ relative: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let path = "\(home)/\(relative)"
        try #require(
            FileManager.default.fileExists(atPath: path),
            "\(path) is missing: run scripts/fetch-assets (or `make assets`) to download and verify it",
            sourceLocation: sourceLocation)
        return path
    }
}

/// Writes PNG files sample by sample, with stored (uncompressed) deflate blocks.
struct TestPNGEncoder {
    /// PNG colour types.
    enum ColorType: UInt8 {
        case grey = 0
        case rgb = 2
        case palette = 3
        case greyAlpha = 4
        case rgba = 6

        var samplesPerPixel: Int {
            switch self {
            case .grey, .palette: return 1
            case .greyAlpha: return 2
            case .rgb: return 3
            case .rgba: return 4
            }
        }
    }

    let width: Int
    let height: Int
    let bitDepth: Int
    let colorType: ColorType
    var interlaced = false
    /// RGB entries of the PLTE chunk, for `.palette`.
    var palette: [(UInt8, UInt8, UInt8)] = []

    /// Encodes `samples` as a PNG file: `samplesPerPixel` values per pixel, row by row, each in 0 ..< 2^bitDepth.
    func encode(_ samples: [Int]) -> [UInt8] {
        precondition(samples.count == width * height * colorType.samplesPerPixel)
        var file: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
        var header = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        header += [UInt8(bitDepth), colorType.rawValue, 0, 0, interlaced ? 1 : 0]
        file += chunk("IHDR", header)
        if colorType == .palette {
            file += chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] })
        }
        file += chunk("IDAT", zlibStored(scanlines(samples)))
        file += chunk("IEND", [])
        return file
    }

    /// Builds the filtered scanlines (filter type 0) of the whole image or of each Adam7 pass in turn.
    func scanlines(_ samples: [Int]) -> [UInt8] {
        let passes: [(x: Int, y: Int, dx: Int, dy: Int)] =
            interlaced
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)]
        var data = [UInt8]()
        for pass in passes {
            let columns = Array(stride(from: pass.x, to: width, by: pass.dx))
            guard !columns.isEmpty else { continue }
            for row in stride(from: pass.y, to: height, by: pass.dy) {
                var values = [Int]()
                for column in columns {
                    let start = (row * width + column) * colorType.samplesPerPixel
                    values += samples[start..<start + colorType.samplesPerPixel]
                }
                data.append(0)
                data += pack(values)
            }
        }
        return data
    }

    /// Packs samples into bytes: several per byte (first in the high bits) below 8 bits, big-endian at 16.
    func pack(_ values: [Int]) -> [UInt8] {
        switch bitDepth {
        case 16:
            return values.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
        case 8:
            return values.map { UInt8($0) }
        default:
            var bytes = [UInt8]()
            var current = 0
            var used = 0
            for value in values {
                current = current << bitDepth | value
                used += bitDepth
                if used == 8 {
                    bytes.append(UInt8(current))
                    current = 0
                    used = 0
                }
            }
            if used > 0 { bytes.append(UInt8(current << (8 - used))) }
            return bytes
        }
    }

    func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
    }

    func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var stream: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65_535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            stream += [
                final, UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8((~length >> 8) & 0xff),
            ]
            stream += data[offset..<offset + length]
            offset += length
        } while offset < data.count
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return stream + bigEndian(b << 16 | a)
    }

    func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

/// Collects integers into an array, so that a test compares several sizes in one readable check.
func shape(_ values: Int...) -> [Int] { values }
