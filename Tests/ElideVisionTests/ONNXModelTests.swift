import ElideFormats
import Foundation
import Testing

/// Reads ONNX files written by `ONNXModel.serialized()` and damaged or foreign files, through protobuf-c.
@Suite struct ONNXModelTests {
    private func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("elide-onnx-\(UUID().uuidString)-\(name)").path
    }

    private func write(_ bytes: [UInt8], name: String) throws -> String {
        let path = temporaryPath(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func sampleModel() -> ONNXModel {
        let weight = ONNXTensor(name: "w", dims: [2, 3], floats: [1, -2, 3.5, 0, 1e-8, -7])
        let shape = ONNXTensor(name: "shape", dims: [2], integers: [-1, 6])
        let small = ONNXTensor(
            name: "small", dims: [3], dataType: .int32, storage: .integers([-5, 0, Int64(Int32.max)]))
        let constant = ONNXTensor(name: "", dims: [], floats: [0.25])
        return ONNXModel(
            irVersion: 7, opsetVersion: 14, producerName: "elide-test", producerVersion: "1", graphName: "g",
            nodes: [
                ONNXNode(name: "mm", opType: "MatMul", inputs: ["x", "w"], outputs: ["y"]),
                ONNXNode(
                    name: "c", opType: "Constant", inputs: [], outputs: ["k"],
                    attributes: ["value": .tensor(constant)]),
                ONNXNode(
                    name: "r", opType: "Resize", inputs: ["y", "", "", "shape"], outputs: ["z"],
                    attributes: [
                        "mode": .string("cubic"), "cubic_coeff_a": .float(-0.75), "axes": .ints([2, -1]),
                        "scales": .floats([0.5, 2]), "names": .strings(["a", "b"]), "exclude_outside": .int(0),
                    ]),
            ],
            initializers: ["w": weight, "shape": shape, "small": small],
            inputs: [
                ONNXValueInfo(name: "x", elementType: .float, shape: [.symbolic("batch"), .fixed(2)]),
                ONNXValueInfo(name: "w", elementType: .float, shape: [.fixed(2), .fixed(3)]),
            ],
            outputs: [ONNXValueInfo(name: "z", elementType: .float, shape: nil)])
    }

    @Test func roundTripKeepsGraph() throws {
        let original = sampleModel()
        let path = try write(original.serialized(), name: "round-trip.onnx")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let loaded = try ONNXModel.load(path: path)

        #expect(loaded.path == path)
        #expect(loaded.irVersion == 7)
        #expect(loaded.opsetVersion == 14)
        #expect(loaded.producerName == "elide-test")
        #expect(loaded.graphName == "g")
        #expect(loaded.nodes == original.nodes)
        #expect(loaded.initializers == original.initializers)
        // The initializer "w" listed as a graph input is dropped from `inputs`.
        #expect(
            loaded.inputs == [ONNXValueInfo(name: "x", elementType: .float, shape: [.symbolic("batch"), .fixed(2)])])
        #expect(loaded.outputs == original.outputs)
    }

    @Test func producerAndConsumerLookups() throws {
        let model = sampleModel()
        #expect(model.producer(of: "y")?.name == "mm")
        #expect(model.producer(of: "x") == nil)
        #expect(model.consumers(of: "y").map(\.name) == ["r"])
        #expect(model.consumers(of: "shape").map(\.name) == ["r"])
        #expect(model.consumers(of: "") == [])
    }

    @Test func floatInitializerChecksTypeAndShape() throws {
        let model = sampleModel()
        #expect(try model.floatInitializer("w", shape: [2, 3]) == [1, -2, 3.5, 0, 1e-8, -7])
        #expect(throws: ONNXError.self) { try model.floatInitializer("w", shape: [3, 2]) }
        do {
            _ = try model.floatInitializer("shape")
            Issue.record("an INT64 tensor was returned as floats")
        } catch let error as ONNXError {
            #expect(error.kind == .wrongElementType)
            #expect(error.description.contains("'shape'"))
        }
        do {
            _ = try model.floatInitializer("missing")
            Issue.record("a missing tensor was returned")
        } catch let error as ONNXError {
            #expect(error.kind == .missingTensor)
        }
    }

    @Test func rawDataOfWrongSizeIsRejected() throws {
        var model = sampleModel()
        model.initializers["w"] = ONNXTensor(name: "w", dims: [2, 3], floats: [1, 2, 3, 4, 5])
        let path = try write(model.serialized(), name: "short.onnx")
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try ONNXModel.load(path: path)
            Issue.record("a tensor with 5 values for dims [2, 3] was accepted")
        } catch let error as ONNXError {
            #expect(error.kind == .invalidTensor)
            #expect(error.tensorName == "w")
            #expect(error.description.contains("20 bytes"))
        }
    }

    @Test func damagedFilesAreRejected() throws {
        let bytes = sampleModel().serialized()
        let truncated = try write(Array(bytes.prefix(bytes.count - 7)), name: "truncated.onnx")
        let garbage = try write([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02], name: "garbage.onnx")
        let empty = try write([], name: "empty.onnx")
        defer {
            for path in [truncated, garbage, empty] { try? FileManager.default.removeItem(atPath: path) }
        }
        for path in [truncated, garbage] {
            do {
                _ = try ONNXModel.load(path: path)
                Issue.record("\(path) was accepted")
            } catch let error as ONNXError {
                #expect(error.kind == .invalidProtobuf, "\(path): \(error)")
                #expect(error.description.contains(path))
            }
        }
        do {
            _ = try ONNXModel.load(path: empty)
            Issue.record("an empty file was accepted")
        } catch let error as ONNXError {
            #expect(error.kind == .invalidProtobuf)
            #expect(error.description.contains("empty"))
        }
    }

    @Test func modelWithoutGraphIsRejected() throws {
        // Field 1 (ir_version) = 7 and nothing else: a valid ModelProto without a graph.
        let path = try write([0x08, 0x07], name: "no-graph.onnx")
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try ONNXModel.load(path: path)
            Issue.record("a model without a graph was accepted")
        } catch let error as ONNXError {
            #expect(error.kind == .missingGraph)
        }
    }

    @Test func missingFileIsReported() throws {
        let path = temporaryPath("absent.onnx")
        do {
            _ = try ONNXModel.load(path: path)
            Issue.record("a missing file was accepted")
        } catch let error as ONNXError {
            #expect(error.kind == .cannotOpen)
            #expect(error.description.contains(path))
        }
    }

    @Test func dinov2FileHasExpectedGraph() throws {
        let model = try ONNXModel.load(path: VisionTestAssets.require(VisionTestAssets.modelPath))
        #expect(model.opsetVersion == 14)
        #expect(model.producerName == "pytorch")
        #expect(model.nodes.count == 1485)
        #expect(model.initializers.count == 243)
        #expect(model.inputs.map(\.name) == ["input_image"])
        #expect(model.inputs.first?.shape == [.symbolic("batch_size"), .fixed(3), .fixed(224), .fixed(224)])
        let cls = try model.floatInitializer("backbone.embeddings.cls_token", shape: [1, 1, 384])
        #expect(cls.allSatisfy { $0.isFinite })
        let resize = try #require(model.nodes.first { $0.name == "/backbone/embeddings/Resize" })
        #expect(resize.attributes["mode"] == .string("cubic"))
        #expect(resize.attributes["cubic_coeff_a"] == .float(-0.75))
    }
}
