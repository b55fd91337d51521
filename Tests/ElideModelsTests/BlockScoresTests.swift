import ElideEngine
import ElideTensor
import Foundation
import Testing

@testable import ElideModels

@Suite struct BlockScoresTests {
    /// Cosine similarity in Double.
    static func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
        var dot = 0.0
        var normA = 0.0
        var normB = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            normA += Double(x) * Double(x)
            normB += Double(y) * Double(y)
        }
        return dot / (normA * normB).squareRoot()
    }

    @Test func scoresMatchDirectComputationFromObservedStates() throws {
        let tiny = try TinyCalibration(seed: 51)
        defer { tiny.remove() }
        let evaluator = try tiny.evaluator(EvaluatorSettings(stateStorage: .f32))
        let ids = [2, 9]
        let scores = try evaluator.blockScores(sequenceIDs: ids, tokensPerSequence: 12)

        // Boundary states of the same tokens, observed in a plain dense forward pass.
        let layers = TinyLlama.layers
        let width = TinyLlama.width
        var blockTerms = [Double](repeating: 0, count: layers)
        var attentionTerms = [Double](repeating: 0, count: layers)
        var mlpTerms = [Double](repeating: 0, count: layers)
        var angular = [[Double]](repeating: [Double](repeating: 0, count: layers + 1), count: layers + 1)
        for id in ids {
            let session = LlamaSession(
                model: tiny.model, capacity: 16, precision: .f32, pool: ThreadPool(threads: 1))
            var states: [Int: [Float]] = [:]
            session.forward(
                Array(tiny.calibration.sequences[id].prefix(12)), logits: .none,
                observer: { layer, point, rows, _ in
                    states[SubBlockBoundary(layer: layer, point: point).index] = Array(rows)
                })
            for token in 0..<12 {
                func row(_ boundary: Int) -> ArraySlice<Float> {
                    states[boundary]![token * width..<(token + 1) * width]
                }
                for layer in 0..<layers {
                    blockTerms[layer] += 1 - Self.cosine(row(2 * layer), row(2 * layer + 2))
                    attentionTerms[layer] += 1 - Self.cosine(row(2 * layer), row(2 * layer + 1))
                    mlpTerms[layer] += 1 - Self.cosine(row(2 * layer + 1), row(2 * layer + 2))
                }
                for i in 0..<layers {
                    for j in (i + 1)...layers {
                        angular[i][j] += acos(min(1, Self.cosine(row(2 * i), row(2 * j)))) / Double.pi
                    }
                }
            }
        }

        let tokens = Double(ids.count * 12)
        #expect(scores.tokenCount == ids.count * 12)
        #expect(scores.layers == layers)
        func close(_ a: [Double], _ b: [Double]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 + 1e-4 * abs($1) }
        }
        #expect(close(scores.blockInfluence, blockTerms.map { $0 / tokens }), "\(scores.blockInfluence)")
        #expect(close(scores.attentionInfluence, attentionTerms.map { $0 / tokens }))
        #expect(close(scores.mlpInfluence, mlpTerms.map { $0 / tokens }))
        for width in 1...layers {
            let expected = (0...(layers - width)).map { angular[$0][$0 + width] / tokens }
            #expect(close(scores.windowDistances(width: width), expected), "window width \(width)")
        }
        #expect(scores.blockInfluence.allSatisfy { $0 > 0 })
    }

    @Test func smolLM2ScoresHaveMetricShape() throws {
        let (model, calibration) = try SmolLM2EvaluationTests.load(sequences: 1, length: 64)
        let evaluator = try CandidateEvaluator(
            model: model, calibration: calibration, settings: EvaluatorSettings(), pool: ThreadPool(threads: 2))
        let scores = try evaluator.blockScores(sequenceIDs: [0], tokensPerSequence: 64)
        #expect(scores.blockInfluence.count == 30)
        #expect(scores.angularDistances.count == 30)
        #expect(scores.windowDistances(width: 4).count == 27)
        #expect(scores.windowDistances(width: 30).count == 1)
        for values in [scores.blockInfluence, scores.attentionInfluence, scores.mlpInfluence] {
            #expect(values.allSatisfy { $0 >= 0 })
            #expect(values.allSatisfy { $0 <= 2 })
        }
        // The angular distance is a metric on directions, so the per-token triangle inequality carries
        // over to the means: a window of 2 layers is at most the sum of its two single-layer windows.
        let single = scores.windowDistances(width: 1)
        let double = scores.windowDistances(width: 2)
        for start in double.indices {
            #expect(double[start] <= single[start] + single[start + 1] + 1e-9, "window at layer \(start)")
        }
        let encoded = try JSONEncoder().encode(scores)
        #expect(try JSONDecoder().decode(BlockScores.self, from: encoded) == scores)
    }
}
