/// Settings of the `FailureDetector`.
public struct FailureDetectorSettings: Sendable, Equatable {
    /// How often workers send a heartbeat. Default 1 s.
    public var heartbeatInterval: Duration
    /// Missed beats after which a worker is suspect: shown in status, still given tasks. Default 3.
    public var suspectAfterMissedBeats: Int
    /// Silence after which a worker is dead and its tasks are requeued. Default 10 s; raise it
    /// (`--heartbeat-timeout`) when busy or slow networks get healthy workers marked dead.
    public var deadTimeout: Duration

    public init(
        heartbeatInterval: Duration = .seconds(1), suspectAfterMissedBeats: Int = 3,
        deadTimeout: Duration = .seconds(10)
    ) {
        precondition(heartbeatInterval > .zero, "heartbeatInterval must be positive, got \(heartbeatInterval)")
        precondition(suspectAfterMissedBeats >= 1, "suspectAfterMissedBeats must be >= 1")
        precondition(
            deadTimeout > heartbeatInterval * suspectAfterMissedBeats,
            "deadTimeout (\(deadTimeout)) must exceed the suspect threshold of "
                + "\(suspectAfterMissedBeats) × \(heartbeatInterval)")
        self.heartbeatInterval = heartbeatInterval
        self.suspectAfterMissedBeats = suspectAfterMissedBeats
        self.deadTimeout = deadTimeout
    }

    /// Silence after which a worker is suspect.
    public var suspectAfter: Duration { heartbeatInterval * suspectAfterMissedBeats }
}

/// A worker's health as judged by the failure detector.
public enum WorkerHealth: String, Sendable, Codable, CaseIterable {
    case alive
    case suspect
    case dead
}

/// Tracks heartbeats and declares workers suspect, then dead, after silence. Pure: the caller passes the time.
public struct FailureDetector: Sendable {
    public let settings: FailureDetectorSettings

    struct Entry: Sendable {
        var lastHeartbeat: MonotonicInstant
        var health: WorkerHealth
    }

    private var entries: [WorkerID: Entry] = [:]

    public init(settings: FailureDetectorSettings = FailureDetectorSettings()) {
        self.settings = settings
    }

    /// Starts tracking a worker; registration counts as its first heartbeat.
    public mutating func register(_ worker: WorkerID, now: MonotonicInstant) {
        entries[worker] = Entry(lastHeartbeat: now, health: .alive)
    }

    public mutating func remove(_ worker: WorkerID) {
        entries[worker] = nil
    }

    /// Records a heartbeat; returns `.alive` when it brings a suspect worker back, nil otherwise.
    /// A dead worker stays dead: it must reconnect and register again.
    @discardableResult
    public mutating func heartbeat(_ worker: WorkerID, now: MonotonicInstant) -> WorkerHealth? {
        guard var entry = entries[worker], entry.health != .dead else { return nil }
        entry.lastHeartbeat = max(entry.lastHeartbeat, now)
        let recovered = entry.health == .suspect
        entry.health = .alive
        entries[worker] = entry
        return recovered ? .alive : nil
    }

    /// Returns the workers whose health changed since the last call, by worker id.
    public mutating func evaluate(now: MonotonicInstant) -> [(worker: WorkerID, health: WorkerHealth)] {
        var changes: [(worker: WorkerID, health: WorkerHealth)] = []
        for worker in entries.keys.sorted() {
            // !-safe: worker comes from entries.keys.
            var entry = entries[worker]!
            let silence = now - entry.lastHeartbeat
            let health: WorkerHealth
            if silence >= settings.deadTimeout {
                health = .dead
            } else if silence >= settings.suspectAfter {
                health = .suspect
            } else {
                health = .alive
            }
            guard health != entry.health, entry.health != .dead else { continue }
            entry.health = health
            entries[worker] = entry
            changes.append((worker, health))
        }
        return changes
    }

    public func health(of worker: WorkerID) -> WorkerHealth? { entries[worker]?.health }

    public func lastHeartbeat(of worker: WorkerID) -> MonotonicInstant? { entries[worker]?.lastHeartbeat }
}
