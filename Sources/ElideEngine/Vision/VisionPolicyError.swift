/// An invalid vision policy: the message names the source (file or spec), the field and the expected value.
public struct VisionPolicyError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The JSON field or spec key at fault, when there is one.
    public let field: String?
    public let description: String

    public init(field: String?, _ description: String) {
        self.field = field
        self.description = description
    }
}
