import Testing

@testable import ElideFormats

/// Resizing, cropping and channel expansion of `PixelImage`.
@Suite struct ImageResizeTests {
    @Test func constantImagesStayConstant() throws {
        for (channels, value) in [(1, 77), (3, 200)] {
            let image = try PixelImage(
                width: 37, height: 23, channels: channels,
                pixels: [UInt8](repeating: UInt8(value), count: 37 * 23 * channels))
            for (width, height) in [(10, 7), (37, 50), (100, 3), (1, 1)] {
                let resized = image.resized(width: width, height: height)
                #expect(shape(resized.width, resized.height, resized.channels) == [width, height, channels])
                #expect(resized.pixels.allSatisfy { $0 == UInt8(value) }, "\(channels) channels to \(width)×\(height)")
            }
        }
    }

    @Test func shrinkingACheckerboardAveragesIt() throws {
        let size = 64
        let pixels = (0..<size * size).map { UInt8(($0 / size + $0 % size) % 2 == 0 ? 0 : 255) }
        let board = try PixelImage(width: size, height: size, channels: 1, pixels: pixels)
        for target in [32, 16, 9] {
            let shrunk = board.resized(width: target, height: target)
            // Without antialiasing, a factor-2 shrink samples one colour only (all 0 or all 255).
            #expect(shrunk.pixels.allSatisfy { abs(Int($0) - 128) <= 12 }, "\(target): \(shrunk.pixels.prefix(8))")
        }
    }

    @Test func enlargingInterpolatesBetweenPixels() throws {
        let image = try PixelImage(width: 2, height: 1, channels: 1, pixels: [0, 200])
        let wide = image.resized(width: 4, height: 1)
        // Output centres at input x = 0.25, 0.75, 1.25, 1.75 (pixel centres at 0.5 and 1.5), clamped at the ends.
        #expect(wide.pixels == [0, 50, 150, 200])
        let tall = image.resized(width: 2, height: 3)
        #expect(tall.pixels == [0, 200, 0, 200, 0, 200])
    }

    @Test func shrinkingAPhotographKeepsItsMeanColour() throws {
        let photo = try PixelImage.load(path: FetchedAssets.path("images/chelsea.png"))
        let small = photo.resized(width: 224, height: 224)
        for (before, after) in zip(photo.channelMeans(), small.channelMeans()) {
            #expect(abs(before - after) < 1.5, "mean \(before) became \(after)")
        }
    }

    @Test func cropAndRGBCopyTheRightPixels() throws {
        let image = try PixelImage(width: 4, height: 3, channels: 1, pixels: (0..<12).map { UInt8($0) })
        let crop = image.cropped(x: 1, y: 1, width: 2, height: 2)
        #expect(shape(crop.width, crop.height) == [2, 2])
        #expect(crop.pixels == [5, 6, 9, 10])
        let rgb = crop.rgb()
        #expect(rgb.channels == 3)
        #expect(rgb.pixels == [5, 5, 5, 6, 6, 6, 9, 9, 9, 10, 10, 10])
        #expect(rgb.rgb() == rgb)
    }
}
