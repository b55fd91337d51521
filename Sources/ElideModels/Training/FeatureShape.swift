/// The shape of one sample's activation in a trainable network: `channels × height × width`, stored
/// row-major (CHW). A batch of `n` samples is stored batch-major (NCHW), so sample `i` starts at `i * count`.
/// A flat feature vector has `height == width == 1`.
public struct FeatureShape: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        precondition(channels > 0 && height > 0 && width > 0, "feature shape \(channels)x\(height)x\(width) is empty")
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// A flat feature vector of `count` values.
    public static func flat(_ count: Int) -> FeatureShape {
        FeatureShape(channels: count, height: 1, width: 1)
    }

    /// Values per sample.
    public var count: Int { channels * height * width }

    /// Values per channel plane.
    public var planeCount: Int { height * width }

    public var description: String { "\(channels)x\(height)x\(width)" }
}
