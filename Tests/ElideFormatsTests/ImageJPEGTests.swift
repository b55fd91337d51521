import Foundation
import Testing

@testable import ElideFormats

/// JPEG decoding through libjpeg-turbo on the scikit-image photographs, and damaged JPEG input.
@Suite struct ImageJPEGTests {
    @Test func rocketPhotographMatchesDjpeg() throws {
        // Reference values from libjpeg-turbo's djpeg 2.1.5 (default settings) and numpy.
        let image = try PixelImage.load(path: FetchedAssets.path("images/rocket.jpg"))
        #expect(shape(image.width, image.height, image.channels) == [640, 427, 3])
        for (x, y, expected) in [(0, 0, [17, 33, 58]), (200, 100, [43, 57, 92])] {
            let actual = (0..<3).map { Int(image[x, y, $0]) }
            #expect(zip(actual, expected).allSatisfy { abs($0 - $1) <= 2 }, "pixel (\(x), \(y)): \(actual)")
        }
        let means = image.channelMeans()
        for (mean, expected) in zip(means, [52.266, 61.294, 82.271]) {
            #expect(abs(mean - expected) < 0.5, "channel means \(means)")
        }
    }

    @Test func everyFetchedJPEGDecodes() throws {
        for (name, width, height) in [("hubble_deep_field.jpg", 1000, 872), ("retina.jpg", 1411, 1411)] {
            let image = try PixelImage.load(path: FetchedAssets.path("images/\(name)"))
            #expect(shape(image.width, image.height, image.channels) == [width, height, 3], "\(name)")
        }
    }

    @Test func damagedJPEGsFailCleanly() throws {
        let directory = try TemporaryDirectory()
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: FetchedAssets.path("images/rocket.jpg"))))
        var badMarker = good
        // Overwrite everything after the SOI marker's first segment with bytes that are not markers.
        for index in 20..<200 { badMarker[index] = 0x55 }
        let cases: [(String, [UInt8])] = [
            ("half.jpg", Array(good.prefix(good.count / 2))),
            ("header-only.jpg", Array(good.prefix(400))),
            ("bad-marker.jpg", badMarker),
            ("soi-only.jpg", [0xff, 0xd8, 0xff]),
        ]
        for (name, bytes) in cases {
            let path = try directory.write(bytes, named: name)
            let error = try #require(throws: ImageError.self, "\(name)") { try PixelImage.load(path: path) }
            #expect(error.kind == .decodeFailed, "\(name): \(error)")
            #expect(error.description.contains("libjpeg: "), "\(name): \(error)")
            #expect(error.description.contains(path))
        }
        // The decoder is still usable after the failures.
        #expect(try PixelImage.load(path: directory.write(good, named: "good.jpg")).width == 640)
    }
}
