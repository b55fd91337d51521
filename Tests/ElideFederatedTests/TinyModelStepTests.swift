import ElideFormats
import ElideSupport
import Testing

@testable import ElideFederated

/// One training step of each kind on a tiny network, checked against `NaiveConvNet` with Double finite
/// differences: the expected update is w − η · (∇ + λ·w), since momentum starts at zero.
@Suite struct TinyModelStepTests {
    static let tiny = ConvNetArchitecture(
        channels: 1, height: 8, width: 8, classes: 3, conv1: 2, conv2: 3, kernel: 3, padding: 1, hidden: 4)
    static let settings = TrainingSettings(
        learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, batchSize: 1, temperature: 2, distillationWeight: 0.7)
    let naive = NaiveConvNet(architecture: Self.tiny)

    static func images(_ count: Int, seed: UInt64) throws -> LabeledImageSet {
        var generator = SeededGenerator(seed: seed)
        let pixels = (0..<(count * 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let labels = (0..<count).map { _ in Int(generator.next() % 3) }
        return try LabeledImageSet(channels: 1, height: 8, width: 8, classCount: 3, pixels: pixels, labels: labels)
    }

    @Test(arguments: [false, true])
    func localStepMatchesReference(withProx: Bool) throws {
        let data = try Self.images(1, seed: 1)
        var model = ClientModel(architecture: Self.tiny, seed: 5)
        let before = model.parameters.map(Double.init)
        let layout = model.layout
        var generator = SeededGenerator(seed: 9)
        let anchor = withProx ? generator.uniformValues(layout.sharedCount) : nil
        var settings = Self.settings
        settings.proxMu = withProx ? 0.5 : 0
        ClientCompute.trainLocally(&model, data: data, settings: settings, proxAnchor: anchor, seed: 3)

        // Shared part: cross-entropy of the full network (plus the proximal term).
        let input = NaiveConvNet.encode(data.image(0))
        let label = data.labels[0]
        var gradient = NaiveLoss.gradient(before, indices: 0..<layout.sharedCount) {
            NaiveLoss.crossEntropy(naive.forward(input, parameters: $0).logits, label: label)
        }
        if let anchor {
            for index in gradient.indices { gradient[index] += 0.5 * (before[index] - Double(anchor[index])) }
        }

        // Auxiliary heads: cross-entropy on the cut representations of the same forward pass.
        let cuts = naive.forward(input, parameters: before).cuts
        for cut in 0..<Self.tiny.cutCount {
            let start = layout.auxiliaryOffsets[cut]
            let count = Self.tiny.auxiliaryHead(cut: cut).parameterCount
            gradient += NaiveLoss.gradient(before, indices: start..<(start + count)) { parameters in
                var offset = start
                let logits = naive.dense(cuts[cut], outputs: 3, parameters: parameters, offset: &offset)
                return NaiveLoss.crossEntropy(logits, label: label)
            }
        }
        #expect(gradient.count == layout.totalCount)
        expectStep(from: before, to: model.parameters, gradient: gradient, touched: 0..<layout.totalCount)
    }

    @Test func distillationStepMatchesReference() throws {
        let data = try Self.images(1, seed: 2)
        var model = ClientModel(architecture: Self.tiny, seed: 6)
        let before = model.parameters.map(Double.init)
        let cut = 1
        let bodyCount = Self.tiny.body(upTo: cut).parameterCount
        let headStart = model.layout.auxiliaryOffsets[cut]
        let headCount = Self.tiny.auxiliaryHead(cut: cut).parameterCount
        let teacher: [Float] = [1.5, -0.5, 0.25]
        ClientCompute.distill(&model, data: data, teacherLogits: teacher, cut: cut, settings: Self.settings, seed: 4)

        // Loss: CE + λ·T²·KL(teacher ‖ head(body(x))), through body and head at cut 1 only.
        let input = NaiveConvNet.encode(data.image(0))
        func loss(_ parameters: [Double]) -> Double {
            var offset = headStart
            let representation = naive.forward(input, parameters: parameters).cuts[cut]
            let logits = naive.dense(representation, outputs: 3, parameters: parameters, offset: &offset)
            return NaiveLoss.crossEntropy(logits, label: data.labels[0])
                + 0.7 * NaiveLoss.distillation(student: logits, teacher: teacher.map(Double.init), temperature: 2)
        }
        var gradient = [Double](repeating: 0, count: before.count)
        gradient.replaceSubrange(0..<bodyCount, with: NaiveLoss.gradient(before, indices: 0..<bodyCount, loss: loss))
        gradient.replaceSubrange(
            headStart..<(headStart + headCount),
            with: NaiveLoss.gradient(before, indices: headStart..<(headStart + headCount), loss: loss))
        expectStep(from: before, to: model.parameters, gradient: gradient, touched: 0..<bodyCount)
        expectStep(from: before, to: model.parameters, gradient: gradient, touched: headStart..<(headStart + headCount))

        // Layers above the cut, the classifier and the other heads stay as they were.
        for index in before.indices
        where !(0..<bodyCount).contains(index) && !(headStart..<(headStart + headCount)).contains(index) {
            #expect(Double(model.parameters[index]) == before[index], "parameter \(index) changed")
        }
    }

    @Test(arguments: [0, 1, 2])
    func serverStepMatchesReference(cut: Int) {
        var head = GlobalHead(architecture: Self.tiny, cut: cut, seed: 7)
        let before = head.parameters.map(Double.init)
        let width = head.inputWidth
        var generator = SeededGenerator(seed: 8)
        let representations = generator.uniformValues(2 * width).map { max(0, $0) }
        let clientLogits = generator.uniformValues(2 * 3)
        let labels = [2, 0]
        var settings = Self.settings
        settings.batchSize = 2
        ServerCompute.trainHead(
            &head, representations: representations, width: width, labels: labels, clientLogits: clientLogits,
            settings: settings, seed: 5)

        // Mean over the batch of CE + λ·T²·KL(client ‖ head).
        let gradient = NaiveLoss.gradient(before, indices: 0..<before.count) { parameters in
            (0..<2).reduce(0.0) { total, row in
                let input = representations[(row * width)..<((row + 1) * width)].map(Double.init)
                let logits = naive.globalHead(input, cut: cut, parameters: parameters)
                let teacher = clientLogits[(row * 3)..<((row + 1) * 3)].map(Double.init)
                return total + NaiveLoss.crossEntropy(logits, label: labels[row])
                    + 0.7 * NaiveLoss.distillation(student: logits, teacher: teacher, temperature: 2)
            } / 2
        }
        expectStep(from: before, to: head.parameters, gradient: gradient, touched: 0..<before.count)
    }

    @Test func uploadEvaluateAndServerLogitsMatchReference() throws {
        let data = try Self.images(70, seed: 3)  // more than one inference batch of 64
        var model = ClientModel(architecture: Self.tiny, seed: 8)
        ClientCompute.trainLocally(&model, data: data, settings: Self.settings, proxAnchor: nil, seed: 1)
        let parameters = model.parameters.map(Double.init)
        let layout = model.layout
        let head = GlobalHead(architecture: Self.tiny, cut: 0, seed: 2)

        let upload = ClientCompute.upload(model, data: data, cut: 0)
        let serverLogits = ServerCompute.logits(head, representations: upload.representations, width: upload.width)
        #expect(upload.width == 2 * 4 * 4)
        var correct = 0
        for index in 0..<data.count {
            let activations = naive.forward(NaiveConvNet.encode(data.image(index)), parameters: parameters)
            let representation = Array(upload.representations[(index * 32)..<((index + 1) * 32)])
            expectClose(representation, activations.cuts[0])
            var offset = layout.auxiliaryOffsets[0]
            let logits = naive.dense(activations.cuts[0], outputs: 3, parameters: parameters, offset: &offset)
            expectClose(Array(upload.logits[(index * 3)..<((index + 1) * 3)]), logits)
            let headLogits = naive.globalHead(
                representation.map(Double.init), cut: 0, parameters: head.parameters.map(Double.init))
            expectClose(Array(serverLogits[(index * 3)..<((index + 1) * 3)]), headLogits)
            if activations.logits.firstIndex(of: activations.logits.max()!) == data.labels[index] { correct += 1 }
        }
        let evaluation = ClientCompute.evaluate(model, data: data)
        #expect(evaluation.count == 70)
        #expect(evaluation.correct == correct)
    }

    // MARK: - Helpers

    /// Checks that parameters in `touched` moved by −η · (gradient + λ·w), as a whole vector to 1e-3.
    private func expectStep(
        from before: [Double], to after: [Float], gradient: [Double], touched: Range<Int>,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let rate = Double(Self.settings.learningRate)
        let decay = Double(Self.settings.weightDecay)
        var difference = 0.0
        var norm = 0.0
        for index in touched {
            let expected = -rate * (gradient[index] + decay * before[index])
            let actual = Double(after[index]) - before[index]
            difference += (actual - expected) * (actual - expected)
            norm += expected * expected
        }
        #expect(norm > 0, "the expected step is zero", sourceLocation: sourceLocation)
        #expect(
            (difference / norm).squareRoot() < 1e-3, "step differs from the reference in \(touched)",
            sourceLocation: sourceLocation)
    }

    private func expectClose(_ actual: [Float], _ expected: [Double], sourceLocation: SourceLocation = #_sourceLocation)
    {
        #expect(actual.count == expected.count, sourceLocation: sourceLocation)
        for (a, e) in zip(actual, expected) {
            #expect(abs(Double(a) - e) < 1e-4 * max(1, abs(e)), "\(a) != \(e)", sourceLocation: sourceLocation)
        }
    }
}
