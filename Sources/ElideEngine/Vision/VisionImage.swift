import ElideFormats

/// A float image in planar layout, values in [0, 1] before normalisation: the form the ViT preprocessing
/// resizes, crops and normalises.
public struct VisionImage: Sendable, Equatable {
    /// `channels × height × width`, channel-major.
    public var values: [Float]
    public let channels: Int
    public let height: Int
    public let width: Int

    public init(values: [Float], channels: Int, height: Int, width: Int) {
        precondition(
            values.count == channels * height * width,
            "VisionImage: \(values.count) values for \(channels)×\(height)×\(width)")
        self.values = values
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// Creates a grey image (for example one MNIST digit, row-major bytes) repeated into three channels.
    public init(grey pixels: ArraySlice<UInt8>, height: Int, width: Int) {
        precondition(pixels.count == height * width, "VisionImage: \(pixels.count) grey pixels for \(height)×\(width)")
        let plane = pixels.map { Float($0) / 255 }
        self.init(values: plane + plane + plane, channels: 3, height: height, width: width)
    }

    /// Creates an RGB copy of a decoded PNG or JPEG (grey images are repeated into three channels).
    public init(_ image: PixelImage) {
        var values = [Float](repeating: 0, count: 3 * image.height * image.width)
        let planeSize = image.height * image.width
        for y in 0..<image.height {
            for x in 0..<image.width {
                for channel in 0..<3 {
                    let source = image.channels == 1 ? 0 : channel
                    values[channel * planeSize + y * image.width + x] =
                        Float(image.pixels[(y * image.width + x) * image.channels + source]) / 255
                }
            }
        }
        self.init(values: values, channels: 3, height: image.height, width: image.width)
    }

    /// Returns a resized copy, separable with a triangle (bilinear) filter whose support widens by the scale factor
    /// when shrinking, so downscaling averages every source pixel (antialiasing, as PIL's bilinear resize).
    public func resized(height newHeight: Int, width newWidth: Int) -> VisionImage {
        let horizontal = Self.filterWeights(source: width, target: newWidth)
        let vertical = Self.filterWeights(source: height, target: newHeight)
        var rowsResized = [Float](repeating: 0, count: channels * height * newWidth)
        for channel in 0..<channels {
            for y in 0..<height {
                let base = (channel * height + y) * width
                for (x, taps) in horizontal.enumerated() {
                    var sum: Float = 0
                    for (index, weight) in taps { sum += weight * values[base + index] }
                    rowsResized[(channel * height + y) * newWidth + x] = sum
                }
            }
        }
        var result = [Float](repeating: 0, count: channels * newHeight * newWidth)
        for channel in 0..<channels {
            for (y, taps) in vertical.enumerated() {
                for x in 0..<newWidth {
                    var sum: Float = 0
                    for (index, weight) in taps {
                        sum += weight * rowsResized[(channel * height + index) * newWidth + x]
                    }
                    result[(channel * newHeight + y) * newWidth + x] = sum
                }
            }
        }
        return VisionImage(values: result, channels: channels, height: newHeight, width: newWidth)
    }

    /// Returns the `height × width` block whose top-left pixel is (`x`, `y`).
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int) -> VisionImage {
        precondition(
            x >= 0 && y >= 0 && x + cropWidth <= width && y + cropHeight <= height,
            "VisionImage.cropped: block outside the image")
        var result = [Float]()
        result.reserveCapacity(channels * cropHeight * cropWidth)
        for channel in 0..<channels {
            for row in y..<(y + cropHeight) {
                let start = (channel * height + row) * width + x
                result.append(contentsOf: values[start..<(start + cropWidth)])
            }
        }
        return VisionImage(values: result, channels: channels, height: cropHeight, width: cropWidth)
    }

    /// Returns the image normalised with the ImageNet mean (0.485, 0.456, 0.406) and standard deviation
    /// (0.229, 0.224, 0.225), the input DINOv2 expects.
    public func normalised() -> [Float] {
        precondition(channels == 3, "VisionImage.normalised: expected 3 channels, got \(channels)")
        let mean: [Float] = [0.485, 0.456, 0.406]
        let std: [Float] = [0.229, 0.224, 0.225]
        let planeSize = height * width
        var result = values
        for channel in 0..<3 {
            for index in (channel * planeSize)..<((channel + 1) * planeSize) {
                result[index] = (values[index] - mean[channel]) / std[channel]
            }
        }
        return result
    }

    /// Returns, for each target pixel, the source pixels and normalised weights of a triangle filter.
    static func filterWeights(source: Int, target: Int) -> [[(Int, Float)]] {
        let scale = Double(source) / Double(target)
        let support = max(1, scale)
        return (0..<target).map { index in
            let centre = (Double(index) + 0.5) * scale
            let low = max(0, Int((centre - support).rounded(.down)))
            let high = min(source - 1, Int((centre + support).rounded(.up)))
            var taps: [(Int, Float)] = []
            var total = 0.0
            for pixel in low...high {
                let weight = max(0, 1 - abs((Double(pixel) + 0.5 - centre) / support))
                if weight > 0 {
                    taps.append((pixel, Float(weight)))
                    total += weight
                }
            }
            if taps.isEmpty { return [(min(source - 1, max(0, Int(centre))), 1)] }
            return taps.map { ($0.0, Float(Double($0.1) / total)) }
        }
    }
}

/// HiRED's input: a full view of the image at `side × side` plus `perSide²` sub-images, the crops of the image
/// resized to `perSide · side` square, in row-major block order. All views are normalised.
public struct PartitionedViews: Sendable {
    public let side: Int
    public let perSide: Int
    public let full: [Float]
    public let subImages: [[Float]]

    public init(image: VisionImage, side: Int, perSide: Int) {
        self.side = side
        self.perSide = perSide
        full = image.resized(height: side, width: side).normalised()
        let large = image.resized(height: side * perSide, width: side * perSide)
        var crops: [[Float]] = []
        for blockRow in 0..<perSide {
            for blockColumn in 0..<perSide {
                crops.append(
                    large.cropped(x: blockColumn * side, y: blockRow * side, width: side, height: side).normalised())
            }
        }
        subImages = crops
    }
}
