import Foundation
import Testing

@testable import ElideFormats

/// PNG decoding through libpng and encoding with `writePNG`, on files the tests write.
@Suite struct ImagePNGTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
    }

    /// Writes `bytes` and decodes them with `PixelImage.load`.
    func decode(_ bytes: [UInt8], named name: String = "image.png") throws -> PixelImage {
        try PixelImage.load(path: directory.write(bytes, named: name))
    }

    /// Returns a seeded pattern of `count` values in 0 ..< limit.
    func pattern(_ count: Int, limit: Int, seed: UInt64) -> [Int] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in Int(generator.next() % UInt64(limit)) }
    }

    @Test func greyAndRGBImagesSurviveWriteAndLoad() throws {
        for channels in [1, 3] {
            let pixels = pattern(13 * 7 * channels, limit: 256, seed: UInt64(channels)).map { UInt8($0) }
            let image = try PixelImage(width: 13, height: 7, channels: channels, pixels: pixels)
            let path = directory.file("round-trip-\(channels).png")
            try image.writePNG(path: path)
            #expect(try PixelImage.load(path: path) == image)
            #expect(try PixelImage.decodePNG(image.encodedPNG(), path: nil) == image)
        }
    }

    @Test func writePNGLeavesNoPartialFileAndReportsAMissingFolder() throws {
        let image = try PixelImage(width: 2, height: 2, channels: 1, pixels: [0, 64, 128, 255])
        try image.writePNG(path: directory.file("a.png"))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names == ["a.png"])
        let missing = directory.file("no-such-folder/b.png")
        let error = try #require(throws: ImageError.self) { try image.writePNG(path: missing) }
        #expect(error.kind == .cannotOpen)
        #expect(error.description.contains(missing))
    }

    @Test func sixteenBitSamplesAreScaledToEightBits() throws {
        let grey8 = pattern(9 * 5, limit: 256, seed: 7)
        let encoder = TestPNGEncoder(width: 9, height: 5, bitDepth: 16, colorType: .grey)
        let exact = try decode(encoder.encode(grey8.map { $0 * 257 }))
        #expect(exact.channels == 1)
        #expect(exact.pixels == grey8.map { UInt8($0) })

        // Values between multiples of 257 round to the nearest 8-bit value, with no gamma conversion.
        let rgb = try decode(
            TestPNGEncoder(width: 1, height: 1, bitDepth: 16, colorType: .rgb).encode([0x8000, 0x0101, 0xfff0]))
        #expect(rgb.channels == 3)
        #expect(rgb.pixels == [128, 1, 255])
    }

    @Test func paletteImagesBecomeRGB() throws {
        let palette: [(UInt8, UInt8, UInt8)] = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 20, 30)]
        for depth in [2, 8] {
            let indices = pattern(11 * 4, limit: 4, seed: UInt64(depth))
            var encoder = TestPNGEncoder(width: 11, height: 4, bitDepth: depth, colorType: .palette)
            encoder.palette = palette
            let image = try decode(encoder.encode(indices))
            #expect(image.channels == 3)
            #expect(image.pixels == indices.flatMap { [palette[$0].0, palette[$0].1, palette[$0].2] })
        }
    }

    @Test func oneBitGreyExpandsToBlackAndWhite() throws {
        let bits = pattern(10 * 3, limit: 2, seed: 3)
        let image = try decode(TestPNGEncoder(width: 10, height: 3, bitDepth: 1, colorType: .grey).encode(bits))
        #expect(image.pixels == bits.map { $0 == 1 ? 255 : 0 })
    }

    @Test func alphaIsDroppedAndTheStoredColourKept() throws {
        let greyAlpha = [10, 255, 200, 128, 90, 255, 30, 64]
        let grey = try decode(TestPNGEncoder(width: 2, height: 2, bitDepth: 8, colorType: .greyAlpha).encode(greyAlpha))
        #expect(grey.channels == 1)
        #expect(grey.pixels == [10, 200, 90, 30])

        let rgba = [1, 2, 3, 255, 250, 100, 50, 128]
        let rgb = try decode(TestPNGEncoder(width: 2, height: 1, bitDepth: 8, colorType: .rgba).encode(rgba))
        #expect(rgb.channels == 3)
        #expect(rgb.pixels == [1, 2, 3, 250, 100, 50])
    }

    @Test func interlacedImagesDecodeLikePlainOnes() throws {
        let samples = pattern(19 * 13 * 3, limit: 256, seed: 11)
        let plain = TestPNGEncoder(width: 19, height: 13, bitDepth: 8, colorType: .rgb)
        var interlaced = plain
        interlaced.interlaced = true
        #expect(plain.scanlines(samples) != interlaced.scanlines(samples))
        let expected = samples.map { UInt8($0) }
        #expect(try decode(plain.encode(samples), named: "plain.png").pixels == expected)
        #expect(try decode(interlaced.encode(samples), named: "interlaced.png").pixels == expected)
    }

    @Test func damagedFilesFailWithLibpngsMessage() throws {
        let good = TestPNGEncoder(width: 8, height: 8, bitDepth: 8, colorType: .grey).encode(
            pattern(64, limit: 256, seed: 5))

        var badCRC = good
        badCRC[29] ^= 0xff  // last byte of the IHDR chunk's CRC
        var truncated = Array(good.prefix(good.count - 40))
        truncated += [UInt8](repeating: 0, count: 0)
        for (name, bytes) in [("bad-crc.png", badCRC), ("truncated.png", truncated)] {
            let path = try directory.write(bytes, named: name)
            let error = try #require(throws: ImageError.self) { try PixelImage.load(path: path) }
            #expect(error.kind == .decodeFailed, "\(error)")
            #expect(error.description.contains(path))
            #expect(error.description.contains("libpng: "))
        }
    }

    @Test func unknownFormatsAndMissingFilesAreNamed() throws {
        let text = try directory.write(Array("not an image".utf8), named: "notes.png")
        let unknown = try #require(throws: ImageError.self) { try PixelImage.load(path: text) }
        #expect(unknown.kind == .unknownFormat)
        #expect(unknown.description.contains("neither the PNG nor the JPEG signature"))

        let missing = directory.file("absent.png")
        let error = try #require(throws: ImageError.self) { try PixelImage.load(path: missing) }
        #expect(error.kind == .cannotOpen)
        #expect(error.description.contains(missing))
    }

    @Test func realPhotographDecodesLikeAnIndependentDecoder() throws {
        // Reference values from the PNG-to-PPM converter on this machine (not libpng) and numpy.
        let image = try PixelImage.load(path: FetchedAssets.path("images/astronaut.png"))
        #expect(shape(image.width, image.height, image.channels) == [512, 512, 3])
        #expect([image[0, 0, 0], image[0, 0, 1], image[0, 0, 2]] == [154, 147, 151])
        #expect([image[200, 100, 0], image[200, 100, 1], image[200, 100, 2]] == [81, 57, 17])
        let means = image.channelMeans()
        for (mean, expected) in zip(means, [141.562, 105.759, 96.475]) {
            #expect(abs(mean - expected) < 0.01, "channel means \(means)")
        }
        let grey = try PixelImage.load(path: FetchedAssets.path("images/camera.png"))
        #expect(shape(grey.width, grey.height, grey.channels) == [512, 512, 1])
    }

    @Test func initializerRejectsInconsistentShapes() {
        #expect(throws: ImageError.self) { try PixelImage(width: 2, height: 2, channels: 1, pixels: [0, 0, 0]) }
        #expect(throws: ImageError.self) { try PixelImage(width: 1, height: 1, channels: 2, pixels: [0, 0]) }
        #expect(throws: ImageError.self) { try PixelImage(width: 0, height: 1, channels: 1, pixels: []) }
    }
}
