import ElideTensor
import Foundation

/// A k-nearest-neighbour classifier on cosine similarity, voting as DINO's k-NN evaluation does: each of the
/// k nearest training features votes for its label with weight exp(similarity / temperature).
public struct NearestNeighbourProbe: Sendable {
    public let k: Int
    public let temperature: Float
    public let classCount: Int
    /// L2-normalised training features (count × dimension), row-major.
    let bank: [Float]
    let labels: [Int]
    let dimension: Int

    public init(features: [[Float]], labels: [Int], classCount: Int, k: Int = 20, temperature: Float = 0.07) {
        precondition(!features.isEmpty && features.count == labels.count, "one label per feature row")
        dimension = features[0].count
        bank = features.flatMap(Self.normalised)
        self.labels = labels
        self.classCount = classCount
        self.k = min(k, features.count)
        self.temperature = temperature
    }

    /// Returns the voted class of each feature row.
    public func predict(_ features: [[Float]]) -> [Int] {
        guard !features.isEmpty else { return [] }
        let queries = features.flatMap(Self.normalised)
        let trainCount = labels.count
        var similarity = [Float](repeating: 0, count: features.count * trainCount)
        similarity.withUnsafeMutableBufferPointer { s in
            queries.withUnsafeBufferPointer { q in
                bank.withUnsafeBufferPointer { b in
                    Kernels.sgemm(
                        m: features.count, n: trainCount, k: dimension, a: q.baseAddress!, lda: dimension,
                        b: b.baseAddress!, ldb: dimension, transposeB: true, c: s.baseAddress!, ldc: trainCount)
                }
            }
        }
        return (0..<features.count).map { row in
            let scores = Array(similarity[(row * trainCount)..<((row + 1) * trainCount)])
            var votes = [Float](repeating: 0, count: classCount)
            for neighbour in TokenSelection.top(k, of: scores) {
                votes[labels[neighbour]] += Float(exp(Double(scores[neighbour] / temperature)))
            }
            return votes.indices.max { votes[$0] < votes[$1] }!  // !-safe: classCount ≥ 1.
        }
    }

    public func accuracy(features: [[Float]], labels: [Int]) -> Double {
        let correct = zip(predict(features), labels).filter { $0 == $1 }.count
        return Double(correct) / Double(max(1, labels.count))
    }

    static func normalised(_ row: [Float]) -> [Float] {
        let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? row.map { $0 / norm } : row
    }
}
