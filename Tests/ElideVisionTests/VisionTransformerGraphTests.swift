import ElideFormats
import ElideModels
import Foundation
import Testing

/// Maps small DINOv2-shaped ONNX graphs, written to disk and read back, onto `VisionTransformer`, and checks
/// the errors for graphs that lack a tensor or have another shape.
@Suite struct VisionTransformerGraphTests {
    private let tiny = VisionTransformerTinyModel()

    private func loadThroughFile(_ model: ONNXModel, heads: Int? = nil) throws -> VisionTransformer {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("elide-vit-\(UUID().uuidString).onnx")
            .path
        try Data(model.serialized()).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try VisionTransformer.load(onnxPath: path, heads: heads)
    }

    /// Returns the error from mapping `model`, or nil (with a recorded issue) if it maps.
    private func mappingError(_ model: ONNXModel) -> VisionModelError? {
        do {
            _ = try VisionTransformer.load(model: model)
            Issue.record("the graph mapped although it is malformed")
            return nil
        } catch let error as VisionModelError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func configurationReadFromGraph() throws {
        let transformer = try loadThroughFile(tiny.build())
        #expect(transformer.configuration == tiny.configuration)
    }

    @Test func forwardMatchesPlainReference() throws {
        let model = tiny.build()
        let transformer = try loadThroughFile(model)
        let side = tiny.grid * tiny.patchSize
        let image = tiny.image(height: side, width: side)
        let output = transformer.forward(image: image, height: side, width: side)
        let reference = tiny.referenceForward(model, image: image)

        #expect(output.rows == reference.count)
        #expect(output.positions == [-1] + Array(0..<(tiny.grid * tiny.grid)))
        var worst = 0.0
        for (row, expected) in reference.enumerated() {
            for (column, value) in expected.enumerated() {
                worst = max(worst, abs(Double(output.values[row * tiny.width + column]) - value))
            }
        }
        #expect(worst < 1e-4, "max abs error \(worst) against the Double reference")
    }

    @Test func headsGivenByCallerOverrideGraph() throws {
        var model = tiny.build()
        model = ONNXModel(
            nodes: model.nodes.filter { !$0.name.hasSuffix("/attention/Concat") }, initializers: model.initializers)
        do {
            _ = try VisionTransformer.load(model: model)
            Issue.record("the head count was found without the attention Reshape shape")
        } catch let error as VisionModelError {
            #expect(error.description.contains("heads:"))
        }
        let transformer = try VisionTransformer.load(model: model, heads: 4)
        #expect(transformer.configuration.heads == 4)
    }

    @Test func missingBiasNamesLayerAndTensor() throws {
        var model = tiny.build()
        model.initializers["backbone.encoder.layer.1.mlp.fc1.bias"] = nil
        let error = try #require(mappingError(model))
        #expect(error.layer == 1)
        #expect(error.tensorName == "backbone.encoder.layer.1.mlp.fc1.bias")
        #expect(error.description.contains("layer 1"))
        #expect(error.description.contains("no such initializer"))
    }

    @Test func biasNotAddedToMatMulIsReported() throws {
        let built = tiny.build()
        let nodes = built.nodes.map { node -> ONNXNode in
            guard node.name == "/backbone.encoder.layer.0.attention.attention.value/MatMul" else { return node }
            var changed = node
            changed.opType = "Gemm"
            return changed
        }
        let error = try #require(mappingError(ONNXModel(nodes: nodes, initializers: built.initializers)))
        #expect(error.layer == 0)
        #expect(error.tensorName == "backbone.encoder.layer.0.attention.attention.value.bias")
        #expect(error.description.contains("Gemm"))
    }

    @Test func transposedWeightIsReported() throws {
        var model = tiny.build()
        let add = try #require(model.consumers(of: "backbone.encoder.layer.1.mlp.fc2.bias").first)
        let weightName = try #require(model.producer(of: add.inputs[1])?.inputs[1])
        let weight = try #require(model.initializers[weightName])
        model.initializers[weightName] = ONNXTensor(
            name: weightName, dims: [tiny.width, tiny.mlpWidth], floats: weight.floatValues ?? [])
        let error = try #require(mappingError(model))
        #expect(error.layer == 1)
        #expect(error.tensorName == weightName)
        #expect(error.description.contains("expected [\(tiny.mlpWidth), \(tiny.width)]"))
    }

    @Test func nonCubicPositionResizeIsRejected() throws {
        let built = tiny.build()
        let nodes = built.nodes.map { node -> ONNXNode in
            guard node.opType == "Resize" else { return node }
            var changed = node
            changed.attributes["mode"] = .string("linear")
            return changed
        }
        let error = try #require(mappingError(ONNXModel(nodes: nodes, initializers: built.initializers)))
        #expect(error.description.contains("not bicubic"))
    }

    @Test func missingLayerScaleIsReported() throws {
        var model = tiny.build()
        model.initializers["backbone.encoder.layer.0.layer_scale2.lambda1"] = nil
        let error = try #require(mappingError(model))
        #expect(error.layer == 0)
        #expect(error.tensorName == "backbone.encoder.layer.0.layer_scale2.lambda1")
    }
}
