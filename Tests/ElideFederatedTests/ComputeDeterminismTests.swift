import ElideFormats
import ElideSupport
import Testing

@testable import ElideFederated

/// Same inputs and seed give the same bits; a different seed gives different results.
@Suite struct ComputeDeterminismTests {
    static let small = ConvNetArchitecture(
        channels: 1, height: 12, width: 12, classes: 4, conv1: 4, conv2: 6, kernel: 3, padding: 0, hidden: 16)

    static func images(_ count: Int) throws -> LabeledImageSet {
        var generator = SeededGenerator(seed: 77)
        let pixels = (0..<(count * 144)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let labels = (0..<count).map { _ in Int(generator.next() % 4) }
        return try LabeledImageSet(channels: 1, height: 12, width: 12, classCount: 4, pixels: pixels, labels: labels)
    }

    /// Local training, an upload, server training, its logits and distillation back, as one FedD2S client round.
    static func round(seed: UInt64) throws -> (ClientModel, GlobalHead, [Float]) {
        let data = try images(50)
        let settings = TrainingSettings(batchSize: 8, localEpochs: 2, proxMu: 0.1)
        var model = ClientModel(architecture: small, seed: 1)
        let anchor = model.sharedParameters
        ClientCompute.trainLocally(&model, data: data, settings: settings, proxAnchor: anchor, seed: seed)
        let upload = ClientCompute.upload(model, data: data, cut: 1)
        var head = GlobalHead(architecture: small, cut: 1, seed: 2)
        ServerCompute.trainHead(
            &head, representations: upload.representations, width: upload.width, labels: data.labels,
            clientLogits: upload.logits, settings: settings, seed: seed)
        let teacher = ServerCompute.logits(head, representations: upload.representations, width: upload.width)
        ClientCompute.distill(&model, data: data, teacherLogits: teacher, cut: 1, settings: settings, seed: seed)
        return (model, head, teacher)
    }

    @Test func roundIsBitIdentical() throws {
        let first = try Self.round(seed: 10)
        let second = try Self.round(seed: 10)
        #expect(first.0.parameters.map(\.bitPattern) == second.0.parameters.map(\.bitPattern))
        #expect(first.0.velocity.map(\.bitPattern) == second.0.velocity.map(\.bitPattern))
        #expect(first.1.parameters.map(\.bitPattern) == second.1.parameters.map(\.bitPattern))
        #expect(first.2.map(\.bitPattern) == second.2.map(\.bitPattern))
    }

    @Test func seedChangesBatchOrder() throws {
        let first = try Self.round(seed: 10)
        let other = try Self.round(seed: 11)
        #expect(first.0.parameters != other.0.parameters)
        #expect(first.1.parameters != other.1.parameters)
    }

    @Test func initializationDependsOnSeed() {
        #expect(ClientModel(architecture: Self.small, seed: 3) == ClientModel(architecture: Self.small, seed: 3))
        #expect(ClientModel(architecture: Self.small, seed: 3) != ClientModel(architecture: Self.small, seed: 4))
        #expect(
            GlobalHead(architecture: Self.small, cut: 0, seed: 3)
                != GlobalHead(architecture: Self.small, cut: 0, seed: 4))
    }
}
