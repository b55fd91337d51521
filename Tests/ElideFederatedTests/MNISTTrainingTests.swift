import ElideFormats
import Foundation
import Testing

@testable import ElideFederated

/// Learning on real MNIST (installed by scripts/fetch-assets).
@Suite struct MNISTTrainingTests {
    static var elideHome: String {
        if let home = ProcessInfo.processInfo.environment["ELIDE_HOME"], !home.isEmpty { return home }
        return NSHomeDirectory() + "/.cache/elide"
    }

    /// Loads `split` of MNIST, or records a failure that names the script that installs it.
    static func mnist(_ split: StandardImageDataset.Split) throws -> LabeledImageSet {
        let paths = StandardImageDataset.mnist.paths(split: split, elideHome: elideHome)
        guard FileManager.default.fileExists(atPath: paths.images) else {
            Issue.record("missing MNIST file \(paths.images); run scripts/fetch-assets")
            throw CocoaError(.fileNoSuchFile)
        }
        return try StandardImageDataset.mnist.load(split: split, elideHome: elideHome)
    }

    @Test func oneEpochOn2000ImagesLearns() throws {
        let train = try Self.mnist(.train).subset(Array(0..<2000))
        let test = try Self.mnist(.test).subset(Array(0..<1000))
        var model = ClientModel(architecture: .mnist(), seed: 1)
        let untrained = ClientCompute.evaluate(model, data: test)
        ClientCompute.trainLocally(&model, data: train, settings: TrainingSettings(), proxAnchor: nil, seed: 2)
        let trained = ClientCompute.evaluate(model, data: test)
        let accuracy = Double(trained.correct) / Double(trained.count)
        #expect(trained.count == 1000)
        #expect(untrained.correct < 300, "an untrained model should be near chance, got \(untrained.correct)/1000")
        #expect(accuracy > 0.85, "test accuracy \(accuracy) after one epoch on 2,000 images")

        // The auxiliary heads learned alongside: every cut's head beats chance clearly.
        for cut in 0..<model.architecture.cutCount {
            let upload = ClientCompute.upload(model, data: test, cut: cut)
            var correct = 0
            for index in 0..<test.count {
                let row = Array(upload.logits[(index * 10)..<((index + 1) * 10)])
                if row.firstIndex(of: row.max()!) == test.labels[index] { correct += 1 }
            }
            #expect(correct > 700, "auxiliary head \(cut) classifies \(correct)/1000 test images")
        }
    }
}
