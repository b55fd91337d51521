/// An ONNX model's graph: nodes in topological order, initializers by name, and the declared graph inputs
/// and outputs.
///
/// `load(path:)` maps the file, parses it with protobuf-c through the subset of `onnx.proto` in `proto/`,
/// copies everything into Swift values and frees the parsed message. Weights are decoded eagerly, so a model
/// takes about its file size in memory.
public struct ONNXModel: Sendable {
    /// The file the model was read from; nil for a model built or decoded in memory.
    public var path: String?
    public var irVersion: Int
    /// The version of the default ONNX operator set (domain "" or "ai.onnx"); nil if none is imported.
    public var opsetVersion: Int?
    public var producerName: String
    public var producerVersion: String
    public var graphName: String
    /// Immutable because the producer and consumer lookups are indexed from it; build a new model to change it.
    public let nodes: [ONNXNode]
    public var initializers: [String: ONNXTensor]
    /// Graph inputs, initializers excluded (IR version 3 files also list every initializer as an input).
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]

    /// Node index by output value name.
    private var producerIndex: [String: Int]
    /// Indices of the nodes that read a value, by value name, in node order.
    private var consumerIndex: [String: [Int]]

    public init(
        path: String? = nil,
        irVersion: Int = 7,
        opsetVersion: Int? = 14,
        producerName: String = "",
        producerVersion: String = "",
        graphName: String = "",
        nodes: [ONNXNode],
        initializers: [String: ONNXTensor],
        inputs: [ONNXValueInfo] = [],
        outputs: [ONNXValueInfo] = []
    ) {
        self.path = path
        self.irVersion = irVersion
        self.opsetVersion = opsetVersion
        self.producerName = producerName
        self.producerVersion = producerVersion
        self.graphName = graphName
        self.nodes = nodes
        self.initializers = initializers
        self.inputs = inputs.filter { initializers[$0.name] == nil }
        self.outputs = outputs
        var producers: [String: Int] = [:]
        var consumers: [String: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            for output in node.outputs where !output.isEmpty {
                producers[output] = index
            }
            for input in node.inputs where !input.isEmpty {
                consumers[input, default: []].append(index)
            }
        }
        self.producerIndex = producers
        self.consumerIndex = consumers
    }

    /// Returns the node that writes `value`, or nil for graph inputs, initializers and unknown names.
    public func producer(of value: String) -> ONNXNode? {
        producerIndex[value].map { nodes[$0] }
    }

    /// Returns the nodes that read `value`, in graph order.
    public func consumers(of value: String) -> [ONNXNode] {
        (consumerIndex[value] ?? []).map { nodes[$0] }
    }

    /// Returns the values of the FLOAT initializer `name`, checked against `shape` when one is given.
    public func floatInitializer(_ name: String, shape: [Int]? = nil) throws -> [Float] {
        guard let tensor = initializers[name] else {
            throw ONNXError(.missingTensor, path: path, tensorName: name, problem: "the graph has no such initializer")
        }
        guard let values = tensor.floatValues else {
            throw ONNXError(
                .wrongElementType, path: path, tensorName: name,
                problem: "expected FLOAT values, found \(tensor.dataType)")
        }
        if let shape, shape != tensor.dims {
            throw ONNXError(
                .invalidTensor, path: path, tensorName: name,
                problem: "expected dims \(shape), found \(tensor.dims)",
                remedy: "Check that the model is the one the caller expects.")
        }
        return values
    }
}
