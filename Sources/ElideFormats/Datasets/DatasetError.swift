/// An error from loading or decoding a labelled image set.
///
/// The description names the file, the place in it (a byte offset, a record or a JSON field), what was expected
/// and what to do next, for example:
/// `dataset file 'train-images-idx3-ubyte', byte 0: magic number 0x00000801 …; expected 0x00000803 …`.
public struct DatasetError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The category of a problem, for callers and tests that branch on it.
    public enum Kind: Sendable, Equatable {
        /// The file could not be opened or read.
        case cannotOpen
        /// The file does not start with the expected magic number or structure.
        case badMagic
        /// The file ends before the data its header announces.
        case truncated
        /// A header field, count or label is outside the range the format allows.
        case invalidValue
        /// The JSON text is malformed or lacks a field the format requires.
        case invalidJSON
        /// Values passed to an initializer do not fit together (pixel count, label range).
        case invalidInput
    }

    /// The category of the problem.
    public let kind: Kind
    /// The file being read, or nil for in-memory input.
    public let path: String?
    /// The place in the file: "byte 12", "record 7", "user 'f0001_41', field 'y'".
    public let location: String?
    /// The problem, including what was expected.
    public let problem: String
    /// The suggested next step for the user.
    public let remedy: String

    public init(_ kind: Kind, path: String?, location: String? = nil, problem: String, remedy: String? = nil) {
        self.kind = kind
        self.path = path
        self.location = location
        self.problem = problem
        self.remedy = remedy ?? Self.defaultRemedy(for: kind)
    }

    public var description: String {
        var place = path.map { "dataset file '\($0)'" } ?? "dataset input"
        if let location { place += ", \(location)" }
        return "\(place): \(problem). \(remedy)"
    }

    static func defaultRemedy(for kind: Kind) -> String {
        switch kind {
        case .cannotOpen:
            return "Check that the path exists and is readable; scripts/fetch-assets installs MNIST and "
                + "Fashion-MNIST."
        case .badMagic:
            return "Check that the path names a file of this format (IDX files must be gunzipped first)."
        case .truncated:
            return "The file is incomplete; fetch or copy it again and compare its sha256."
        case .invalidValue, .invalidJSON:
            return "The file is damaged or was written by a different tool; fetch or generate it again."
        case .invalidInput:
            return "Fix the values passed in."
        }
    }
}
