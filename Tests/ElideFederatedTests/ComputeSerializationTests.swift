import ElideFormats
import ElideSupport
import Testing

@testable import ElideFederated

@Suite struct ComputeSerializationTests {
    static let small = ComputeDeterminismTests.small

    /// Returns a model whose momentum is not zero, so the round trip covers it.
    static func trainedModel() throws -> ClientModel {
        var model = ClientModel(architecture: small, seed: 5)
        ClientCompute.trainLocally(
            &model, data: try ComputeDeterminismTests.images(20), settings: TrainingSettings(batchSize: 8),
            proxAnchor: nil, seed: 1)
        return model
    }

    @Test func clientModelRoundTrips() throws {
        let model = try Self.trainedModel()
        #expect(model.velocity.contains { $0 != 0 })
        let decoded = try ClientModel(serialized: model.serialized())
        #expect(decoded == model)
        #expect(decoded.parameters.map(\.bitPattern) == model.parameters.map(\.bitPattern))
    }

    @Test(arguments: [0, 1, 2])
    func globalHeadRoundTrips(cut: Int) throws {
        let head = GlobalHead(architecture: Self.small, cut: cut, seed: 3)
        let decoded = try GlobalHead(serialized: head.serialized())
        #expect(decoded == head)
        #expect(decoded.cut == cut)
    }

    @Test func truncatedModelIsRejected() throws {
        let bytes = try Self.trainedModel().serialized()
        #expect(throws: (any Error).self) { try ClientModel(serialized: Array(bytes.dropLast(4))) }
        #expect(throws: (any Error).self) { try ClientModel(serialized: bytes + [0]) }
    }

    @Test func headIsNotAModel() throws {
        let bytes = GlobalHead(architecture: Self.small, cut: 1, seed: 3).serialized()
        #expect(throws: ComputeError.self) { try ClientModel(serialized: bytes) }
    }

    @Test func sharedParametersReplaceOnlyTheSharedPart() throws {
        var model = try Self.trainedModel()
        let other = ClientModel(architecture: Self.small, seed: 9)
        let heads = Array(model.parameters[model.sharedParameterCount...])
        let velocity = model.velocity
        try model.setSharedParameters(other.sharedParameters)
        #expect(model.sharedParameters == other.sharedParameters)
        #expect(Array(model.parameters[model.sharedParameterCount...]) == heads)
        #expect(model.velocity == velocity)
        #expect(throws: ComputeError.parameterCountMismatch(expected: model.sharedParameterCount, actual: 3)) {
            try model.setSharedParameters([1, 2, 3])
        }
    }
}
