import ElideModels
import ElideTensor
import Foundation
import Synchronization

/// Counters of a `DenseReferenceCache`.
public struct DenseCacheStatistics: Sendable, Equatable, Codable {
    /// References served from memory.
    public var hits = 0
    /// References built by a dense pass.
    public var misses = 0
    public var evictions = 0
    /// Sequences in memory now.
    public var entries = 0
    /// Bytes in memory now.
    public var bytes = 0
    /// Wall time of all dense passes so far.
    public var buildSeconds = 0.0
}

/// Dense references of calibration sequences, built on first use with one dense forward pass over the
/// whole sequence and kept in memory up to `settings.cacheBytes`, least recently used first out.
///
/// Safe to use from several threads. Dense passes run one at a time; a thread that needs a reference
/// another thread is building waits for it.
public final class DenseReferenceCache: @unchecked Sendable {
    public let model: LlamaModel
    public let calibration: CalibrationSet
    public let settings: EvaluatorSettings
    let pool: ThreadPool
    /// The output head shared by the dense passes and the candidates, so both compute logits alike.
    let head: OutputHead

    private struct Entry {
        let reference: DenseReference
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        var clock: UInt64 = 0
        var statistics = DenseCacheStatistics()
    }

    private let state = Mutex(State())
    /// Serialises dense passes, so two threads never build the same sequence.
    private let buildLock = NSLock()

    public init(model: LlamaModel, calibration: CalibrationSet, settings: EvaluatorSettings, pool: ThreadPool) throws {
        try settings.validate(vocabularySize: model.configuration.vocabularySize)
        self.model = model
        self.calibration = calibration
        self.settings = settings
        self.pool = pool
        head = OutputHead(model: model, precision: settings.precision, pool: pool)
    }

    public var statistics: DenseCacheStatistics { state.withLock { $0.statistics } }

    /// Returns the dense reference of sequence `id`, running the dense pass if it is not in memory.
    public func reference(sequenceID id: Int) throws -> DenseReference {
        try calibration.validate(sequenceID: id, tokenCount: calibration.sequenceLength)
        if let cached = lookUp(id) { return cached }

        buildLock.lock()
        defer { buildLock.unlock() }
        if let cached = lookUp(id) { return cached }
        let reference = DenseReference.build(
            model: model, head: head, tokens: calibration.sequences[id], sequenceID: id, settings: settings,
            pool: pool)
        insert(reference)
        return reference
    }

    /// Builds the references of `ids` that are not in memory yet, so later evaluations find them.
    public func prepare(sequenceIDs ids: [Int]) throws {
        for id in ids { _ = try reference(sequenceID: id) }
    }

    /// Drops every reference.
    public func removeAll() {
        state.withLock { state in
            state.statistics.evictions += state.entries.count
            state.entries.removeAll()
            state.statistics.entries = 0
            state.statistics.bytes = 0
        }
    }

    private func lookUp(_ id: Int) -> DenseReference? {
        state.withLock { state in
            guard var entry = state.entries[id] else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[id] = entry
            state.statistics.hits += 1
            return entry.reference
        }
    }

    private func insert(_ reference: DenseReference) {
        let budget = settings.cacheBytes
        state.withLock { state in
            state.clock += 1
            state.entries[reference.sequenceID] = Entry(reference: reference, lastUse: state.clock)
            state.statistics.misses += 1
            state.statistics.buildSeconds += reference.buildSeconds
            state.statistics.bytes += reference.byteCount

            // Evict least recently used entries, never the new one, until the budget holds.
            while state.statistics.bytes > budget && state.entries.count > 1 {
                // !-safe: the dictionary contains at least two entries here.
                let oldest = state.entries.min { $0.value.lastUse < $1.value.lastUse }!
                state.entries[oldest.key] = nil
                state.statistics.bytes -= oldest.value.reference.byteCount
                state.statistics.evictions += 1
            }
            state.statistics.entries = state.entries.count
        }
    }
}
