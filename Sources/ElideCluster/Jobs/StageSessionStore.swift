import ElideModels
import Foundation
import Synchronization

/// The pipeline stage sessions of one worker process: a `LlamaSession` per (job, prompt, stage) whose KV
/// caches cover only that stage's layers, kept between the stage's tasks.
///
/// The store keeps at most `capacity` sessions and evicts the least recently used one, and drops sessions
/// unused for `idleSeconds`. A prompt whose session was evicted gets `missingState` from its next task and
/// starts over, so eviction costs time but never changes output. Each key keeps only its newest epoch.
final class StageSessionStore: Sendable {
    /// Sessions one worker keeps. Default 64: at 4 prompts in flight, enough for one worker to hold 16 stages.
    static let defaultCapacity = 64

    /// Idle time after which a session is dropped. Default 300 s: far longer than one pipeline step, so
    /// only sessions of prompts that ended at a stop token, or of jobs that ended, reach it.
    static let defaultIdleSeconds = 300.0

    static let shared = StageSessionStore(capacity: defaultCapacity, idleSeconds: defaultIdleSeconds)

    struct Key: Hashable, Sendable {
        var job: JobID
        var specDigest: String
        var prompt: Int
        var stage: Int
    }

    /// One key's session. Tasks hold `lock` while they use it, because a retried task may overlap with a
    /// late attempt of itself on the same process.
    final class Entry: @unchecked Sendable {
        let epoch: Int
        let lock = NSLock()
        /// Guarded by `lock`; nil until the stage's prompt task creates it.
        var session: LlamaSession?

        init(epoch: Int) { self.epoch = epoch }
    }

    private struct State {
        var entries: [Key: (entry: Entry, lastUse: UInt64, usedAt: Double)] = [:]
        var clock: UInt64 = 0
    }

    let capacity: Int
    let idleSeconds: Double
    private let state = Mutex(State())

    init(capacity: Int, idleSeconds: Double = defaultIdleSeconds) {
        precondition(capacity >= 1, "a stage session store needs room for at least 1 session, got \(capacity)")
        precondition(idleSeconds > 0, "idleSeconds must be positive, got \(idleSeconds)")
        self.capacity = capacity
        self.idleSeconds = idleSeconds
    }

    /// Returns the entry of `key` at `epoch`, dropping an entry of an older epoch. A new, empty entry is made
    /// only when `create` is true (a prompt task, which starts at position 0). Returns nil when there is no
    /// entry to use, also when the store contains a newer epoch, which makes this task stale.
    /// `now` is wall-clock seconds, compared with earlier calls' to find idle sessions.
    func entry(_ key: Key, epoch: Int, create: Bool, now: Double = wallClockSeconds()) -> Entry? {
        state.withLock { state in
            state.clock += 1
            state.entries = state.entries.filter { now - $0.value.usedAt <= idleSeconds }
            if let stored = state.entries[key] {
                if stored.entry.epoch == epoch {
                    state.entries[key]?.lastUse = state.clock
                    state.entries[key]?.usedAt = now
                    return stored.entry
                }
                if stored.entry.epoch > epoch { return nil }
                state.entries[key] = nil
            }
            guard create else { return nil }
            let entry = Entry(epoch: epoch)
            state.entries[key] = (entry, state.clock, now)
            if state.entries.count > capacity,
                let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })
            {
                state.entries[oldest.key] = nil
            }
            return entry
        }
    }

    /// Drops the session of `key` if it belongs to `epoch`.
    func release(_ key: Key, epoch: Int) {
        state.withLock { state in
            if state.entries[key]?.entry.epoch == epoch { state.entries[key] = nil }
        }
    }

    /// The number of keys held, for tests.
    var count: Int { state.withLock { $0.entries.count } }
}
