import ElideModels
import ElideSupport
import ElideTensor

/// The products of one dense forward pass over a calibration sequence that every candidate reuses: the
/// hidden states at every sub-block boundary and the teacher distributions of every position.
public final class DenseReference: Sendable {
    public let sequenceID: Int
    public let states: DenseStates
    public let teacher: TeacherTargets
    /// Wall time of the dense pass that built this reference.
    public let buildSeconds: Double

    init(sequenceID: Int, states: DenseStates, teacher: TeacherTargets, buildSeconds: Double) {
        self.sequenceID = sequenceID
        self.states = states
        self.teacher = teacher
        self.buildSeconds = buildSeconds
    }

    /// Bytes held by the states and the teacher.
    public var byteCount: Int { states.byteCount + teacher.byteCount }

    /// Runs the dense model over `tokens` and keeps its states and teacher distributions.
    static func build(
        model: LlamaModel, head: OutputHead, tokens: [Int], sequenceID: Int, settings: EvaluatorSettings,
        pool: ThreadPool
    ) -> DenseReference {
        let start = MonotonicClock.now()
        let configuration = model.configuration
        let width = configuration.embeddingLength
        let vocabulary = configuration.vocabularySize
        let count = tokens.count
        let session = LlamaSession(
            model: model, capacity: count, batchCapacity: min(settings.batchCapacity, count),
            precision: settings.precision, pool: pool)
        let states = DenseStates(
            boundaryCount: SubBlockBoundary.count(layers: configuration.blockCount), tokens: count, width: width,
            storage: settings.stateStorage)
        let teacher = TeacherTargets(mode: settings.teacher, positions: count, vocabularySize: vocabulary)

        // (count, width) final hidden states in Float32, which the teacher's logits are computed from.
        let finalStates = UnsafeMutablePointer<Float>.allocate(capacity: count * width)
        defer { finalStates.deallocate() }

        var chunkStart = 0
        session.forward(
            tokens, logits: .none,
            observer: { layer, point, rows, rowCount in
                let boundary = SubBlockBoundary(layer: layer, point: point).index
                // !-safe: the forward pass never reports an empty buffer.
                states.store(boundary: boundary, firstRow: chunkStart, rows: rows.baseAddress!, count: rowCount)
                if point == .finalOutput {
                    (finalStates + chunkStart * width).update(from: rows.baseAddress!, count: rowCount * width)
                    chunkStart += rowCount
                }
            })

        // The logits come from the same blocked products as a candidate's, so identical final states give
        // identical logits. Positions are recorded in parallel, each with its own scratch rows.
        let recordScratch = UnsafeMutablePointer<Float>.allocate(capacity: pool.threads * 2 * vocabulary)
        defer { recordScratch.deallocate() }
        head.forEachLogitBlock(finalStates: finalStates, positions: count, pool: pool) { first, rows, logits in
            pool.parallelForWorkers(rows) { row, worker in
                teacher.record(
                    position: first + row, logits: logits + row * vocabulary,
                    scratch: recordScratch + worker * 2 * vocabulary)
            }
        }

        if case .topK(let k) = settings.teacher {
            head.forEachTopKLogits(finalStates: finalStates, positions: count, k: k, teacher: teacher, pool: pool) {
                position, logits in
                teacher.setTopLogits(position: position, logits: logits)
            }
        }
        return DenseReference(
            sequenceID: sequenceID, states: states, teacher: teacher, buildSeconds: MonotonicClock.seconds(since: start)
        )
    }
}
