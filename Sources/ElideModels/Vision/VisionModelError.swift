/// An error from mapping an ONNX graph onto `VisionTransformer`.
///
/// The description names the file, the layer and the tensor or node concerned, for example:
/// `ONNX file 'm.onnx', layer 3, tensor 'backbone.encoder.layer.3.mlp.fc1.bias': the graph has no such
/// initializer. …`
public struct VisionModelError: Error, CustomStringConvertible, Sendable {
    public let path: String?
    /// The transformer layer concerned, if any.
    public let layer: Int?
    /// The tensor or node concerned, if any.
    public let tensorName: String?
    public let problem: String

    public init(path: String?, layer: Int? = nil, tensorName: String? = nil, _ problem: String) {
        self.path = path
        self.layer = layer
        self.tensorName = tensorName
        self.problem = problem
    }

    public var description: String {
        var location = [path.map { "ONNX file '\($0)'" } ?? "ONNX model"]
        if let layer {
            location.append("layer \(layer)")
        }
        if let tensorName {
            location.append("tensor '\(tensorName)'")
        }
        return "\(location.joined(separator: ", ")): \(problem). VisionTransformer reads DINOv2 backbones "
            + "exported from Hugging Face transformers (Dinov2Model); check that the file is such a model."
    }
}
