import ElideModels
import ElideTensor

/// KL divergence of one calibration sequence under one candidate.
public struct SequenceKL: Sendable, Equatable, Codable {
    public var sequenceID: Int
    /// Σ over the scored positions of KL(dense ‖ candidate), in nats.
    public var klSum: Double
    /// Positions scored: the requested token count minus one.
    public var tokenCount: Int

    public init(sequenceID: Int, klSum: Double, tokenCount: Int) {
        self.sequenceID = sequenceID
        self.klSum = klSum
        self.tokenCount = tokenCount
    }
}

extension Array where Element == SequenceKL {
    /// The token-weighted mean KL per position: Σ klSum / Σ tokenCount.
    public var meanKL: Double {
        let tokens = reduce(0) { $0 + $1.tokenCount }
        return tokens == 0 ? 0 : reduce(0.0) { $0 + $1.klSum } / Double(tokens)
    }
}

/// Scores candidate sub-block masks by their KL divergence from the dense model on calibration
/// sequences, the fitness of EvoPress's depth search.
///
/// For each sequence the dense hidden states and teacher distributions come from `cache`, so a
/// candidate runs only from its first dropped sub-block on. With the first `T` tokens of a sequence,
/// the predictions at positions `0 ..< T − 1` are scored. The last position, whose prediction concerns
/// a token outside the sequence, is dropped, as EvoPress's reference KL fitness drops it.
///
/// The result depends only on the mask, the sequences, the token count and the settings, bit for bit:
/// every product assigns each output to one thread and sums in a fixed order, so the pool's thread
/// count does not change it (the tests compare 1, 2 and 3 threads). A machine whose OpenBLAS selects
/// other kernels may differ in the last bits. Safe to call from several threads; each call uses its
/// own session.
public final class CandidateEvaluator: @unchecked Sendable {
    public let cache: DenseReferenceCache
    public var model: LlamaModel { cache.model }
    public var calibration: CalibrationSet { cache.calibration }
    public var settings: EvaluatorSettings { cache.settings }
    public let pool: ThreadPool

    public init(model: LlamaModel, calibration: CalibrationSet, settings: EvaluatorSettings, pool: ThreadPool) throws {
        cache = try DenseReferenceCache(model: model, calibration: calibration, settings: settings, pool: pool)
        self.pool = pool
    }

    /// Returns, for each of `sequenceIDs` in order, the KL sum over the first `tokensPerSequence`
    /// tokens' predictions under `mask`. A mask that drops nothing scores 0 without running the model.
    public func evaluate(mask: SubBlockMask, sequenceIDs: [Int], tokensPerSequence: Int) throws -> [SequenceKL] {
        let layerCount = model.configuration.blockCount
        guard mask.layerCount == layerCount else {
            throw CalibrationError("the mask covers \(mask.layerCount) layers but the model has \(layerCount)")
        }
        for id in sequenceIDs {
            try calibration.validate(sequenceID: id, tokenCount: tokensPerSequence)
        }
        let scored = tokensPerSequence - 1
        guard let boundary = SubBlockBoundary.firstDropped(in: mask) else {
            return sequenceIDs.map { SequenceKL(sequenceID: $0, klSum: 0, tokenCount: scored) }
        }

        // Causal attention lets the last token influence no scored position, so it does not run at all.
        let width = model.configuration.embeddingLength
        let session = LlamaSession(
            model: model, capacity: scored, batchCapacity: min(settings.batchCapacity, scored),
            precision: settings.precision, mask: mask, pool: pool)
        // (scored, width) states at `boundary`, then (scored, width) final states.
        let input = UnsafeMutablePointer<Float>.allocate(capacity: scored * width)
        defer { input.deallocate() }
        let finalStates = UnsafeMutablePointer<Float>.allocate(capacity: scored * width)
        defer { finalStates.deallocate() }

        var results: [SequenceKL] = []
        for id in sequenceIDs {
            let reference = try cache.reference(sequenceID: id)
            reference.states.load(boundary: boundary, rows: 0..<scored, into: input)
            session.reset()
            var chunkStart = 0
            session.forward(
                resumingAt: boundary, states: input, count: scored, logits: .none,
                observer: { _, point, rows, rowCount in
                    guard point == .finalOutput else { return }
                    // !-safe: the forward pass never reports an empty buffer.
                    (finalStates + chunkStart * width).update(from: rows.baseAddress!, count: rowCount * width)
                    chunkStart += rowCount
                })
            let klSum = divergenceSum(finalStates: finalStates, positions: scored, teacher: reference.teacher)
            results.append(SequenceKL(sequenceID: id, klSum: klSum, tokenCount: scored))
        }
        return results
    }

    /// Σ over positions `0 ..< positions` of KL(teacher ‖ candidate), from the candidate's final states.
    func divergenceSum(finalStates: UnsafePointer<Float>, positions: Int, teacher: TeacherTargets) -> Double {
        let perPosition = UnsafeMutablePointer<Double>.allocate(capacity: max(positions, 1))
        defer { perPosition.deallocate() }
        switch teacher.mode {
        case .exact:
            exactDivergences(finalStates: finalStates, positions: positions, teacher: teacher, into: perPosition)
        case .topK(let k):
            topKDivergences(finalStates: finalStates, positions: positions, k: k, teacher: teacher, into: perPosition)
        }
        // Summed in position order, so the total does not depend on which thread computed which term.
        var total = 0.0
        for position in 0..<positions { total += perPosition[position] }
        return total
    }

    private func exactDivergences(
        finalStates: UnsafePointer<Float>, positions: Int, teacher: TeacherTargets,
        into perPosition: UnsafeMutablePointer<Double>
    ) {
        let head = cache.head
        let vocabulary = head.vocabularySize
        // Per pool thread: the teacher's log-probabilities and its probabilities.
        let workerScratch = UnsafeMutablePointer<Float>.allocate(capacity: pool.threads * 2 * vocabulary)
        defer { workerScratch.deallocate() }

        head.forEachLogitBlock(finalStates: finalStates, positions: positions, pool: pool) { first, rows, logits in
            pool.parallelForWorkers(rows) { row, worker in
                let teacherRow = workerScratch + worker * 2 * vocabulary
                teacher.loadLogProbabilities(position: first + row, into: teacherRow)
                perPosition[first + row] = KLDivergence.exact(
                    teacher: teacherRow, student: logits + row * vocabulary, count: vocabulary,
                    probabilities: teacherRow + vocabulary)
            }
        }
    }

    private func topKDivergences(
        finalStates: UnsafePointer<Float>, positions: Int, k: Int, teacher: TeacherTargets,
        into perPosition: UnsafeMutablePointer<Double>
    ) {
        cache.head.forEachTopKLogits(
            finalStates: finalStates, positions: positions, k: k, teacher: teacher, pool: pool
        ) { position, logits in
            perPosition[position] = KLDivergence.topK(
                teacher: teacher.topLogProbabilities(position: position), student: logits, count: k)
        }
    }
}
