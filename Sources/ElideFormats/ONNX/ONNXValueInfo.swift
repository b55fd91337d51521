/// The declared name, element type and shape of a graph input or output.
public struct ONNXValueInfo: Sendable, Equatable {
    /// One dimension of a declared shape.
    public enum Dimension: Sendable, Equatable {
        case fixed(Int)
        /// A named size such as `batch_size`.
        case symbolic(String)
        case unknown
    }

    public var name: String
    /// The element type; nil when the value is not a tensor or its type is not declared.
    public var elementType: ONNXDataType?
    /// The declared shape; nil when no shape is declared.
    public var shape: [Dimension]?

    public init(name: String, elementType: ONNXDataType?, shape: [Dimension]?) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
    }
}
