/// One operator in an ONNX graph.
public struct ONNXNode: Sendable, Equatable {
    public var name: String
    /// The operator, for example `MatMul` or `Add`.
    public var opType: String
    /// The operator set domain; empty for the default ONNX domain.
    public var domain: String
    /// Input value names in operator order; an empty name marks an optional input that is not given.
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: ONNXAttribute]

    public init(
        name: String, opType: String, domain: String = "", inputs: [String], outputs: [String],
        attributes: [String: ONNXAttribute] = [:]
    ) {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }
}

/// The value of a node attribute.
public enum ONNXAttribute: Sendable, Equatable {
    case float(Float)
    case int(Int64)
    /// A STRING attribute; ONNX stores bytes, decoded here as UTF-8 with invalid bytes repaired.
    case string(String)
    case tensor(ONNXTensor)
    case floats([Float])
    case ints([Int64])
    case strings([String])
    case tensors([ONNXTensor])
    /// A graph, sparse tensor or type attribute, which Elide does not decode; the ONNX AttributeType value.
    case undecoded(type: Int32)
}
