/// An error from decoding, encoding or building a `PixelImage`.
///
/// The description names the file, what failed (with libpng's or libjpeg's own message where there is one)
/// and what to do next.
public struct ImageError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The category of a problem, for callers and tests that branch on it.
    public enum Kind: Sendable, Equatable {
        /// The file could not be opened, read or written.
        case cannotOpen
        /// The file starts with neither the PNG nor the JPEG signature.
        case unknownFormat
        /// libpng or libjpeg rejected the data (damaged, truncated or unsupported).
        case decodeFailed
        /// libpng could not encode the image.
        case encodeFailed
        /// The image is larger than `PixelImage.maximumPixelCount`.
        case tooLarge
        /// Values passed to an initializer do not fit together.
        case invalidInput
    }

    public let kind: Kind
    /// The file concerned, or nil for in-memory input.
    public let path: String?
    /// The problem, in one or more sentences.
    public let problem: String
    /// The suggested next step.
    public let remedy: String

    public init(_ kind: Kind, path: String?, problem: String, remedy: String? = nil) {
        self.kind = kind
        self.path = path
        self.problem = problem
        self.remedy = remedy ?? Self.defaultRemedy(for: kind)
    }

    public var description: String {
        "\(path.map { "image file '\($0)'" } ?? "image"): \(problem). \(remedy)"
    }

    static func defaultRemedy(for kind: Kind) -> String {
        switch kind {
        case .cannotOpen:
            return "Check that the path exists and that its folder is readable (or writable, when saving)."
        case .unknownFormat:
            return "Elide reads PNG and JPEG files; convert the image to one of them."
        case .decodeFailed:
            return "The file is damaged or uses a feature the library does not support; open it in an image "
                + "viewer, and save it again as PNG if it shows."
        case .encodeFailed:
            return "Check that the folder is writable and has free space."
        case .tooLarge:
            return "Scale the image down before loading it."
        case .invalidInput:
            return "Fix the values passed in."
        }
    }
}
