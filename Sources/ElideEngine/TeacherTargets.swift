import ElideTensor
import Foundation

/// The dense model's next-token distributions for the positions of one token sequence, stored in the
/// form `mode` selects. Built once by the dense pass, then read by any number of threads.
public final class TeacherTargets: @unchecked Sendable {
    public let mode: TeacherMode
    /// Positions stored, one per token of the sequence.
    public let positions: Int
    public let vocabularySize: Int
    /// Tokens kept per position: the vocabulary size for `.exact`, K for `.topK(K)`.
    public let entriesPerPosition: Int
    /// `.exact`: (positions, vocabulary) fp16 log-probabilities.
    private let halfLogProbabilities: UnsafeMutableRawPointer?
    /// `.topK`: (positions, K) token ids, ascending within a position.
    private let indices: UnsafeMutablePointer<Int32>?
    /// `.topK`: (positions, K) log-probabilities renormalised over the K tokens.
    private let topLogProbabilities: UnsafeMutablePointer<Float>?

    init(mode: TeacherMode, positions: Int, vocabularySize: Int) {
        self.mode = mode
        self.positions = positions
        self.vocabularySize = vocabularySize
        switch mode {
        case .exact:
            entriesPerPosition = vocabularySize
            let byteCount = positions * vocabularySize * 2
            halfLogProbabilities = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
            halfLogProbabilities!.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
            indices = nil
            topLogProbabilities = nil
        case .topK(let k):
            precondition(k >= 2 && k <= vocabularySize, "top-k needs 2 to \(vocabularySize) tokens, got \(k)")
            entriesPerPosition = k
            halfLogProbabilities = nil
            indices = .allocate(capacity: positions * k)
            indices!.initialize(repeating: 0, count: positions * k)
            topLogProbabilities = .allocate(capacity: positions * k)
            topLogProbabilities!.initialize(repeating: 0, count: positions * k)
        }
    }

    deinit {
        halfLogProbabilities?.deallocate()
        indices?.deallocate()
        topLogProbabilities?.deallocate()
    }

    /// Bytes the distributions occupy.
    public var byteCount: Int {
        switch mode {
        case .exact: positions * vocabularySize * 2
        case .topK(let k): positions * k * 8
        }
    }

    // MARK: - Reading

    /// Expands position `position`'s log-probabilities (`.exact` only) into `vocabularySize` floats.
    func loadLogProbabilities(position: Int, into: UnsafeMutablePointer<Float>) {
        // !-safe: callers check `mode == .exact`, which allocates this buffer.
        let row = halfLogProbabilities! + position * vocabularySize * 2
        QuantizedMatrix(type: .f16, rows: 1, columns: vocabularySize, data: row).dequantizeRow(0, into: into)
    }

    /// Token ids of position `position`'s top K (`.topK` only).
    func topIndices(position: Int) -> UnsafePointer<Int32> {
        // !-safe: callers check that the mode is `.topK`, which allocates this buffer.
        UnsafePointer(indices! + position * entriesPerPosition)
    }

    /// Renormalised log-probabilities of position `position`'s top K (`.topK` only).
    func topLogProbabilities(position: Int) -> UnsafePointer<Float> {
        // !-safe: as for `topIndices`.
        UnsafePointer(topLogProbabilities! + position * entriesPerPosition)
    }

    // MARK: - Building

    /// Stores position `position` from the dense model's logits, using `scratch` (`2 × vocabularySize`
    /// floats). For `.topK` this picks the K tokens, and `setTopLogits` then stores their values.
    func record(position: Int, logits: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let vocabulary = vocabularySize
        switch mode {
        case .exact:
            let logProbabilities = scratch
            logProbabilities.update(from: logits, count: vocabulary)
            KLDivergence.logSoftmax(logProbabilities, count: vocabulary, scratch: scratch + vocabulary)
            // !-safe: `.exact` allocates this buffer.
            Kernels.convertRow(
                logProbabilities, count: vocabulary, to: .f16,
                into: halfLogProbabilities! + position * vocabulary * 2)
        case .topK(let k):
            // !-safe: `.topK` allocates this buffer.
            Self.selectLargest(logits, count: vocabulary, k: k, into: indices! + position * k)
        }
    }

    /// Stores the dense model's logits at position `position`'s top-K tokens (as `topIndices` lists
    /// them) and renormalises them into log-probabilities over the K tokens.
    func setTopLogits(position: Int, logits: UnsafePointer<Float>) {
        let k = entriesPerPosition
        // !-safe: `.topK` allocates this buffer.
        let row = topLogProbabilities! + position * k
        var maximum = -Float.infinity
        for i in 0..<k where logits[i] > maximum { maximum = logits[i] }
        var sum = 0.0
        for i in 0..<k { sum += exp(Double(logits[i] - maximum)) }
        let shift = Double(maximum) + log(sum)
        for i in 0..<k { row[i] = Float(Double(logits[i]) - shift) }
    }

    /// Writes the ids of the `k` largest of `count` values to `into`, in ascending id order. Among equal
    /// values the lower id wins.
    static func selectLargest(_ values: UnsafePointer<Float>, count: Int, k: Int, into: UnsafeMutablePointer<Int32>) {
        // A min-heap of the k best (value, id) pairs seen so far; the root is the weakest.
        var heap: [(value: Float, id: Int32)] = []
        heap.reserveCapacity(k)
        func weaker(_ a: (value: Float, id: Int32), _ b: (value: Float, id: Int32)) -> Bool {
            a.value < b.value || (a.value == b.value && a.id > b.id)
        }
        for id in 0..<count {
            let candidate = (value: values[id].isNaN ? -Float.infinity : values[id], id: Int32(id))
            if heap.count < k {
                heap.append(candidate)
                var child = heap.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard weaker(heap[child], heap[parent]) else { break }
                    heap.swapAt(child, parent)
                    child = parent
                }
            } else if weaker(heap[0], candidate) {
                heap[0] = candidate
                var parent = 0
                while true {
                    let left = 2 * parent + 1
                    guard left < k else { break }
                    var weakest = left
                    if left + 1 < k && weaker(heap[left + 1], heap[left]) { weakest = left + 1 }
                    guard weaker(heap[weakest], heap[parent]) else { break }
                    heap.swapAt(weakest, parent)
                    parent = weakest
                }
            }
        }
        let ids = heap.map(\.id).sorted()
        for (slot, id) in ids.enumerated() { into[slot] = id }
    }
}
