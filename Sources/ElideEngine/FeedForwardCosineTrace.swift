import ElideModels
import ElideTensor
import Foundation

/// The cosine cos(h, h + FFN(h)) and the relative update ‖FFN(h)‖ / ‖h + FFN(h)‖ of every FFN block, for
/// each decode step after the warm-up of a dense, teacher-forced decode. h is the residual state after the
/// layer's attention.
public struct FeedForwardCosineTrace: Sendable {
    public let layerCount: Int
    /// The FFN blocks the mask keeps; dropped blocks have NaN entries.
    public let mlpKept: [Bool]
    /// Cosines, (steps, layers) row-major.
    public private(set) var cosines: [Float] = []
    /// Relative updates, (steps, layers) row-major.
    public private(set) var updateRatios: [Float] = []

    public init(mlpKept: [Bool]) {
        self.layerCount = mlpKept.count
        self.mlpKept = mlpKept
    }

    /// The number of decode steps recorded.
    public var steps: Int { layerCount == 0 ? 0 : cosines.count / layerCount }

    /// Appends one decode step's row of cosines and relative updates.
    public mutating func append(cosines stepCosines: [Float], updateRatios stepUpdates: [Float]) {
        precondition(stepCosines.count == layerCount && stepUpdates.count == layerCount, "one entry per layer")
        cosines += stepCosines
        updateRatios += stepUpdates
    }

    /// Returns the mean cosine of each layer over the steps, nil for dropped layers.
    public var meanCosines: [Double?] {
        (0..<layerCount).map { layer in
            guard mlpKept[layer], steps > 0 else { return nil }
            let sum = (0..<steps).reduce(0.0) { $0 + Double(cosines[$1 * layerCount + layer]) }
            return sum / Double(steps)
        }
    }

    /// Decodes each of `sequences` densely under `mask`, prefilling the first `promptTokens` tokens and
    /// recording every decode step whose generated-token index is at least `warmupTokens`.
    /// `progress(done, total)` is called after each sequence.
    public static func record(
        model: LlamaModel, mask: SubBlockMask, precision: ActivationPrecision, pool: ThreadPool,
        sequences: [[Int]], promptTokens: Int, warmupTokens: Int, progress: (Int, Int) -> Void = { _, _ in }
    ) -> FeedForwardCosineTrace {
        let capacity = sequences.map(\.count).max() ?? 1
        let session = LlamaSession(
            model: model, capacity: max(capacity, 1), precision: precision, mask: mask, pool: pool)
        let recorder = StepRecorder(width: model.configuration.embeddingLength, mask: mask)
        var trace = FeedForwardCosineTrace(mlpKept: mask.mlpKept)
        let observer: HiddenStateObserver = { layer, point, states, _ in recorder.observe(layer, point, states) }

        for (done, tokens) in sequences.enumerated() {
            precondition(promptTokens >= 1 && promptTokens < tokens.count, "each sequence needs a prompt and more")
            session.reset()
            session.forward(Array(tokens[..<promptTokens]), logits: .none)
            for index in promptTokens..<tokens.count {
                let generatedIndex = index - promptTokens + 1
                guard generatedIndex >= max(warmupTokens, 1) else {
                    session.forward([tokens[index]], logits: .none)
                    continue
                }
                recorder.startStep()
                session.forward([tokens[index]], logits: .none, observer: observer)
                trace.append(cosines: recorder.cosines, updateRatios: recorder.updateRatios)
            }
            progress(done + 1, sequences.count)
        }
        return trace
    }
}

/// Collects one decode step's cosines from the hidden states a forward pass reports.
private final class StepRecorder {
    let width: Int
    let mlpKept: [Bool]
    var input: [Float]
    var cosines: [Float]
    var updateRatios: [Float]

    init(width: Int, mask: SubBlockMask) {
        self.width = width
        self.mlpKept = mask.mlpKept
        input = Array(repeating: 0, count: width)
        cosines = Array(repeating: .nan, count: mask.layerCount)
        updateRatios = Array(repeating: .nan, count: mask.layerCount)
    }

    func startStep() {
        for layer in cosines.indices {
            cosines[layer] = .nan
            updateRatios[layer] = .nan
        }
    }

    /// Keeps the state after layer l's attention, and compares it with the state entering layer l + 1
    /// (or the final output), which is h + FFN(h) when layer l's FFN is kept.
    func observe(_ layer: Int, _ point: HiddenStatePoint, _ states: UnsafeBufferPointer<Float>) {
        switch point {
        case .afterAttention:
            for index in 0..<width { input[index] = states[index] }
        case .layerInput, .finalOutput:
            let previous = layer - 1
            guard previous >= 0, mlpKept[previous] else { return }
            var dot = 0.0
            var inputSquare = 0.0
            var outputSquare = 0.0
            var updateSquare = 0.0
            for index in 0..<width {
                let h = Double(input[index])
                let output = Double(states[index])
                dot += h * output
                inputSquare += h * h
                outputSquare += output * output
                updateSquare += (output - h) * (output - h)
            }
            cosines[previous] = Float(dot / (inputSquare * outputSquare).squareRoot())
            updateRatios[previous] = Float((updateSquare / outputSquare).squareRoot())
        }
    }
}
