import ElideFederated
import ElideFormats
import Foundation
import Synchronization

/// The federated clients one worker process keeps between tasks: each client's personal model with the
/// number of steps applied to it, and the decoded data sets the tasks read.
///
/// A model is used only when its step count equals the length of the history a task carries. Otherwise the
/// executor rebuilds it from the history. So eviction, a retried task or a task that ran elsewhere costs time
/// but never changes output.
final class FederatedClientStore: Sendable {
    /// Client models one worker keeps. Default 64, so a 20-client job fits on one worker with room for a
    /// second job. At the default network (about 0.6 M parameters plus momentum and auxiliary heads) that is
    /// an estimated 0.7 GB at most.
    static let defaultCapacity = 64

    /// Decoded data sets one worker keeps. Default 128: the training and test sets of 64 clients.
    static let defaultDataCapacity = 128

    static let shared = FederatedClientStore(capacity: defaultCapacity, dataCapacity: defaultDataCapacity)

    struct Key: Hashable, Sendable {
        var job: JobID
        var runKey: String
        var client: Int
    }

    struct Entry: Sendable {
        var steps: Int
        var model: ClientModel
    }

    private struct State {
        var models: [Key: (entry: Entry, lastUse: UInt64)] = [:]
        var data: [ArtifactDigest: (set: LabeledImageSet, lastUse: UInt64)] = [:]
        var clock: UInt64 = 0
    }

    let capacity: Int
    let dataCapacity: Int
    private let state = Mutex(State())

    init(capacity: Int, dataCapacity: Int) {
        precondition(capacity >= 1, "a client store needs room for at least 1 model, got \(capacity)")
        precondition(dataCapacity >= 2, "a client store needs room for at least 2 data sets, got \(dataCapacity)")
        self.capacity = capacity
        self.dataCapacity = dataCapacity
    }

    /// Returns the stored model of `key` if exactly `steps` steps were applied to it.
    func model(_ key: Key, steps: Int) -> ClientModel? {
        state.withLock { state in
            guard let stored = state.models[key], stored.entry.steps == steps else { return nil }
            state.clock += 1
            state.models[key]?.lastUse = state.clock
            return stored.entry.model
        }
    }

    /// Stores `model` as the state of `key` after `steps` steps, evicting the least recently used model when
    /// full. An entry with more steps is kept, because a late attempt must not roll a client back.
    func store(_ model: ClientModel, steps: Int, for key: Key) {
        state.withLock { state in
            if let stored = state.models[key], stored.entry.steps > steps { return }
            state.clock += 1
            state.models[key] = (Entry(steps: steps, model: model), state.clock)
            if state.models.count > capacity,
                let oldest = state.models.min(by: { $0.value.lastUse < $1.value.lastUse })
            {
                state.models[oldest.key] = nil
            }
        }
    }

    /// Returns the decoded data set of an artifact, reading the file through `load` when it is not cached.
    func dataSet(_ digest: ArtifactDigest, load: () throws -> [UInt8]) throws -> LabeledImageSet {
        let cached = state.withLock { state -> LabeledImageSet? in
            guard let stored = state.data[digest] else { return nil }
            state.clock += 1
            state.data[digest]?.lastUse = state.clock
            return stored.set
        }
        if let cached { return cached }
        let set = try LabeledImageSet(serialized: try load())
        state.withLock { state in
            state.clock += 1
            state.data[digest] = (set, state.clock)
            if state.data.count > dataCapacity,
                let oldest = state.data.min(by: { $0.value.lastUse < $1.value.lastUse })
            {
                state.data[oldest.key] = nil
            }
        }
        return set
    }

    /// The number of models held, for tests.
    var modelCount: Int { state.withLock { $0.models.count } }
}
