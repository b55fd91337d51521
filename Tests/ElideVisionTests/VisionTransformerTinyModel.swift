import ElideFormats
import ElideModels
import Foundation

/// A small DINOv2-shaped ONNX graph with seeded random weights, laid out as Hugging Face's exporter writes
/// the real one: named biases, norms and layer scales, unnamed MatMul weights, and position embeddings
/// resized by a cubic `Resize`. It is not runnable by ONNX Runtime (attention is one placeholder node); it
/// exercises the graph walk and, through `referenceForward`, the layer arithmetic.
struct VisionTransformerTinyModel {
    var layers = 2
    var width = 8
    var heads = 2
    var mlpWidth = 16
    var patchSize = 2
    var grid = 3
    var epsilon: Float = 1e-5
    var seed: UInt64 = 7

    var configuration: VisionTransformerConfiguration {
        VisionTransformerConfiguration(
            layers: layers, width: width, heads: heads, mlpWidth: mlpWidth, patchSize: patchSize, positionGrid: grid,
            layerNormEpsilon: epsilon)
    }

    /// Deterministic pseudo-random values in [-scale, scale) (SplitMix64).
    struct Values {
        var state: UInt64

        mutating func next(_ count: Int, scale: Float) -> [Float] {
            (0..<count).map { _ in
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                return (Float(z >> 40) / Float(1 << 24) * 2 - 1) * scale
            }
        }
    }

    func build() -> ONNXModel {
        var values = Values(state: seed)
        var initializers: [String: ONNXTensor] = [:]
        var nodes: [ONNXNode] = []
        var unnamed = 0
        func add(_ name: String, _ dims: [Int], scale: Float, offset: Float = 0) {
            let count = dims.reduce(1, *)
            initializers[name] = ONNXTensor(
                name: name, dims: dims, floats: values.next(count, scale: scale).map { $0 + offset })
        }
        func constant(_ output: String, _ tensor: ONNXTensor) {
            nodes.append(
                ONNXNode(
                    name: output, opType: "Constant", inputs: [], outputs: [output],
                    attributes: ["value": .tensor(tensor)]))
        }
        func layerNorm(_ prefix: String, input: String) -> String {
            add(prefix + ".weight", [width], scale: 0.2, offset: 1)
            add(prefix + ".bias", [width], scale: 0.1)
            let node = "/" + prefix
            constant(node + "/eps", ONNXTensor(name: "", dims: [], floats: [epsilon]))
            nodes += [
                ONNXNode(name: node + "/ReduceMean", opType: "ReduceMean", inputs: [input], outputs: [node + "/mean"]),
                ONNXNode(
                    name: node + "/Sub", opType: "Sub", inputs: [input, node + "/mean"], outputs: [node + "/centred"]),
                ONNXNode(
                    name: node + "/Pow", opType: "Pow", inputs: [node + "/centred", node + "/two"],
                    outputs: [node + "/squares"]),
                ONNXNode(
                    name: node + "/ReduceMean_1", opType: "ReduceMean", inputs: [node + "/squares"],
                    outputs: [node + "/variance"]),
                ONNXNode(
                    name: node + "/Add", opType: "Add", inputs: [node + "/variance", node + "/eps"],
                    outputs: [node + "/shifted"]),
                ONNXNode(
                    name: node + "/Sqrt", opType: "Sqrt", inputs: [node + "/shifted"], outputs: [node + "/deviation"]),
                ONNXNode(
                    name: node + "/Div", opType: "Div", inputs: [node + "/centred", node + "/deviation"],
                    outputs: [node + "/normed"]),
                ONNXNode(
                    name: node + "/Mul", opType: "Mul", inputs: [node + "/normed", prefix + ".weight"],
                    outputs: [node + "/scaled"]),
                ONNXNode(
                    name: node + "/Add_1", opType: "Add", inputs: [node + "/scaled", prefix + ".bias"],
                    outputs: [node + "/output"]),
            ]
            return node + "/output"
        }
        func linear(_ prefix: String, input: String, inputs: Int, outputs: Int) -> String {
            unnamed += 1
            let weight = "onnx::MatMul_\(unnamed)"
            add(weight, [inputs, outputs], scale: 1 / Float(inputs).squareRoot())
            add(prefix + ".bias", [outputs], scale: 0.1)
            let node = "/" + prefix
            nodes += [
                ONNXNode(
                    name: node + "/MatMul", opType: "MatMul", inputs: [input, weight], outputs: [node + "/product"]),
                ONNXNode(
                    name: node + "/Add", opType: "Add", inputs: [prefix + ".bias", node + "/product"],
                    outputs: [node + "/output"]),
            ]
            return node + "/output"
        }

        // Embeddings: patch projection, CLS token, and position embeddings through a cubic Resize.
        add("backbone.embeddings.cls_token", [1, 1, width], scale: 0.5)
        add("backbone.embeddings.patch_embeddings.projection.weight", [width, 3, patchSize, patchSize], scale: 0.3)
        add("backbone.embeddings.patch_embeddings.projection.bias", [width], scale: 0.1)
        add("onnx::Concat_cls", [1, 1, width], scale: 0.2)
        add("onnx::Reshape_grid", [1, grid * grid, width], scale: 0.2)
        nodes += [
            ONNXNode(
                name: "/patch/Conv", opType: "Conv",
                inputs: [
                    "input_image", "backbone.embeddings.patch_embeddings.projection.weight",
                    "backbone.embeddings.patch_embeddings.projection.bias",
                ],
                outputs: ["/patch/conv"]),
            ONNXNode(
                name: "/patch/Transpose", opType: "Transpose", inputs: ["/patch/conv"], outputs: ["/patch/tokens"]),
            ONNXNode(
                name: "/cls/Expand", opType: "Expand", inputs: ["backbone.embeddings.cls_token", "/cls/shape"],
                outputs: ["/cls/expanded"]),
            ONNXNode(
                name: "/tokens/Concat", opType: "Concat", inputs: ["/cls/expanded", "/patch/tokens"],
                outputs: ["/tokens"]),
            ONNXNode(
                name: "/pos/Reshape", opType: "Reshape", inputs: ["onnx::Reshape_grid", "/pos/shape"],
                outputs: ["/pos/square"]),
            ONNXNode(name: "/pos/Transpose", opType: "Transpose", inputs: ["/pos/square"], outputs: ["/pos/nchw"]),
            ONNXNode(
                name: "/pos/Resize", opType: "Resize", inputs: ["/pos/nchw", "", "", "/pos/sizes"],
                outputs: ["/pos/resized"],
                attributes: [
                    "mode": .string("cubic"), "coordinate_transformation_mode": .string("half_pixel"),
                    "cubic_coeff_a": .float(-0.75), "nearest_mode": .string("floor"),
                ]),
            ONNXNode(name: "/pos/Transpose_1", opType: "Transpose", inputs: ["/pos/resized"], outputs: ["/pos/nhwc"]),
            ONNXNode(
                name: "/pos/Reshape_1", opType: "Reshape", inputs: ["/pos/nhwc", "/pos/flat_shape"],
                outputs: ["/pos/flat"]),
            ONNXNode(
                name: "/pos/Concat", opType: "Concat", inputs: ["onnx::Concat_cls", "/pos/flat"],
                outputs: ["/positions"]),
            ONNXNode(
                name: "/embeddings/Add", opType: "Add", inputs: ["/tokens", "/positions"], outputs: ["/embedded"]),
        ]

        // Layers.
        var stream = "/embedded"
        for layer in 0..<layers {
            let prefix = "backbone.encoder.layer.\(layer)"
            let normed = layerNorm(prefix + ".norm1", input: stream)
            let key = linear(prefix + ".attention.attention.key", input: normed, inputs: width, outputs: width)
            let value = linear(prefix + ".attention.attention.value", input: normed, inputs: width, outputs: width)
            let query = linear(prefix + ".attention.attention.query", input: normed, inputs: width, outputs: width)
            let node = "/" + prefix + "/attention"
            constant(node + "/heads", ONNXTensor(name: "", dims: [1], integers: [Int64(heads)]))
            constant(node + "/head_width", ONNXTensor(name: "", dims: [1], integers: [Int64(width / heads)]))
            nodes += [
                ONNXNode(
                    name: node + "/Concat", opType: "Concat",
                    inputs: [node + "/batch", node + "/sequence", node + "/heads", node + "/head_width"],
                    outputs: [node + "/split_shape"]),
                ONNXNode(
                    name: node + "/Reshape", opType: "Reshape", inputs: [query, node + "/split_shape"],
                    outputs: [node + "/query_heads"]),
                ONNXNode(
                    name: node + "/Attention", opType: "ScaledDotProductAttention",
                    inputs: [node + "/query_heads", key, value], outputs: [node + "/context"]),
            ]
            let projected = linear(
                prefix + ".attention.output.dense", input: node + "/context", inputs: width, outputs: width)
            add(prefix + ".layer_scale1.lambda1", [width], scale: 0.5, offset: 0.5)
            nodes += [
                ONNXNode(
                    name: "/\(prefix)/ls1", opType: "Mul", inputs: [projected, prefix + ".layer_scale1.lambda1"],
                    outputs: ["/\(prefix)/ls1"]),
                ONNXNode(
                    name: "/\(prefix)/Add", opType: "Add", inputs: ["/\(prefix)/ls1", stream],
                    outputs: ["/\(prefix)/residual1"]),
            ]
            let normed2 = layerNorm(prefix + ".norm2", input: "/\(prefix)/residual1")
            let hidden = linear(prefix + ".mlp.fc1", input: normed2, inputs: width, outputs: mlpWidth)
            nodes.append(
                ONNXNode(name: "/\(prefix)/gelu", opType: "Gelu", inputs: [hidden], outputs: ["/\(prefix)/gelu"]))
            let mlp = linear(prefix + ".mlp.fc2", input: "/\(prefix)/gelu", inputs: mlpWidth, outputs: width)
            add(prefix + ".layer_scale2.lambda1", [width], scale: 0.5, offset: 0.5)
            nodes += [
                ONNXNode(
                    name: "/\(prefix)/ls2", opType: "Mul", inputs: [mlp, prefix + ".layer_scale2.lambda1"],
                    outputs: ["/\(prefix)/ls2"]),
                ONNXNode(
                    name: "/\(prefix)/Add_1", opType: "Add", inputs: ["/\(prefix)/ls2", "/\(prefix)/residual1"],
                    outputs: ["/\(prefix)/output"]),
            ]
            stream = "/\(prefix)/output"
        }
        let final = layerNorm("backbone.layernorm", input: stream)
        return ONNXModel(
            producerName: "elide-test", nodes: nodes, initializers: initializers,
            inputs: [
                ONNXValueInfo(
                    name: "input_image", elementType: .float,
                    shape: [.fixed(1), .fixed(3), .symbolic("h"), .symbolic("w")])
            ],
            outputs: [ONNXValueInfo(name: final, elementType: .float, shape: nil)])
    }

    /// Builds a deterministic normalised-looking image of `height × width` pixels.
    func image(height: Int, width: Int, seed: UInt64 = 11) -> [Float] {
        var values = Values(state: seed)
        return values.next(3 * height * width, scale: 2)
    }

    /// Runs the forward pass written out plainly in Double from the graph's tensors, for an image whose patch grid
    /// equals the position grid (so the resize is the identity).
    func referenceForward(_ model: ONNXModel, image: [Float]) -> [[Double]] {
        func tensor(_ name: String) -> [Double] { model.initializers[name]!.floatValues!.map { Double($0) } }
        func weight(_ bias: String) -> [Double] {
            let add = model.consumers(of: bias).first { $0.opType == "Add" }!
            let matmul = model.producer(of: add.inputs[1])!
            return tensor(matmul.inputs[1])
        }
        func layerNorm(_ x: [Double], _ prefix: String) -> [Double] {
            let mean = x.reduce(0, +) / Double(x.count)
            let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
            let w = tensor(prefix + ".weight")
            let b = tensor(prefix + ".bias")
            return x.indices.map { (x[$0] - mean) / (variance + Double(epsilon)).squareRoot() * w[$0] + b[$0] }
        }
        func apply(_ x: [Double], _ bias: String, outputs: Int) -> [Double] {
            let w = weight(bias)
            let b = tensor(bias)
            return (0..<outputs).map { o in b[o] + x.indices.reduce(0) { $0 + x[$1] * w[$1 * outputs + o] } }
        }

        let side = grid * patchSize
        let patchWeight = tensor("backbone.embeddings.patch_embeddings.projection.weight")
        let patchBias = tensor("backbone.embeddings.patch_embeddings.projection.bias")
        let cls = tensor("backbone.embeddings.cls_token")
        let clsPosition = tensor("onnx::Concat_cls")
        let gridPositions = tensor("onnx::Reshape_grid")
        var tokens: [[Double]] = [zip(cls, clsPosition).map { $0 + $1 }]
        for patchRow in 0..<grid {
            for patchColumn in 0..<grid {
                let cell = patchRow * grid + patchColumn
                tokens.append(
                    (0..<width).map { o in
                        var sum = patchBias[o] + gridPositions[cell * width + o]
                        for c in 0..<3 {
                            for y in 0..<patchSize {
                                for x in 0..<patchSize {
                                    let pixel = Double(
                                        image[
                                            (c * side + patchRow * patchSize + y) * side + patchColumn * patchSize + x])
                                    sum += pixel * patchWeight[((o * 3 + c) * patchSize + y) * patchSize + x]
                                }
                            }
                        }
                        return sum
                    })
            }
        }

        let headWidth = width / heads
        for layer in 0..<layers {
            let prefix = "backbone.encoder.layer.\(layer)"
            let normed = tokens.map { layerNorm($0, prefix + ".norm1") }
            let q = normed.map { apply($0, prefix + ".attention.attention.query.bias", outputs: width) }
            let k = normed.map { apply($0, prefix + ".attention.attention.key.bias", outputs: width) }
            let v = normed.map { apply($0, prefix + ".attention.attention.value.bias", outputs: width) }
            var context = [[Double]](repeating: [Double](repeating: 0, count: width), count: tokens.count)
            for head in 0..<heads {
                let columns = (head * headWidth)..<((head + 1) * headWidth)
                for i in tokens.indices {
                    let scores = tokens.indices.map { j in
                        columns.reduce(0.0) { $0 + q[i][$1] * k[j][$1] } / Double(headWidth).squareRoot()
                    }
                    let maximum = scores.max()!
                    let exps = scores.map { Foundation.exp($0 - maximum) }
                    let total = exps.reduce(0, +)
                    for column in columns {
                        context[i][column] = tokens.indices.reduce(0.0) { $0 + exps[$1] / total * v[$1][column] }
                    }
                }
            }
            let scale1 = tensor(prefix + ".layer_scale1.lambda1")
            let scale2 = tensor(prefix + ".layer_scale2.lambda1")
            for i in tokens.indices {
                let projected = apply(context[i], prefix + ".attention.output.dense.bias", outputs: width)
                for c in 0..<width { tokens[i][c] += scale1[c] * projected[c] }
                let hidden = apply(layerNorm(tokens[i], prefix + ".norm2"), prefix + ".mlp.fc1.bias", outputs: mlpWidth)
                    .map { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }
                let mlp = apply(hidden, prefix + ".mlp.fc2.bias", outputs: width)
                for c in 0..<width { tokens[i][c] += scale2[c] * mlp[c] }
            }
        }
        return tokens.map { layerNorm($0, "backbone.layernorm") }
    }
}
