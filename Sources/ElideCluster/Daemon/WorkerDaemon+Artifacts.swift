import ElideWire

extension WorkerDaemon {
    /// Maximum wait for an artifact fetch: 10 minutes, an estimate that allows several GiB on a slow link.
    static let fetchTimeout: Duration = .seconds(600)

    /// Returns the cached path of an artifact, fetching and verifying it first when missing. Slot threads that
    /// need the same artifact share one fetch.
    func artifactPath(_ digest: ArtifactDigest, generation: UInt64) throws -> String {
        let path = cache.path(for: digest)
        if cache.contains(digest) { return path }

        let (fetch, request) = try state.withLock { state -> (Fetch, FramedConnection?) in
            guard let session = state.session, session.generation == generation else {
                throw WorkerError.connectionLost
            }
            if let fetch = state.fetches[digest] { return (fetch, nil) }
            let fetch = Fetch(receiver: try ArtifactReceiver(sha256: digest.hex, destination: path))
            state.fetches[digest] = fetch
            return (fetch, session.connection)
        }
        if let request {
            logger.info("fetching artifact", ("artifact", digest.hex))
            try? request.send(.artifactRequest(WireMessage.ArtifactRequest(sha256: digest.hex)))
        }

        let finished = state.wait(until: { _ in fetch.outcome != nil }, deadline: .now() + WorkerDaemon.fetchTimeout)
        guard finished, let outcome = state.withLock({ _ in fetch.outcome }) else {
            throw WorkerError.fetchTimedOut(digest)
        }
        try outcome.get()
        return path
    }

    /// Feeds a chunk to its fetch; called on the session's reader thread.
    func receiveChunk(_ chunk: WireMessage.ArtifactChunk) {
        guard let digest = ArtifactDigest(hex: chunk.sha256), let fetch = state.withLock({ $0.fetches[digest] }) else {
            logger.warning("ignoring a chunk of an artifact that was not requested", ("artifact", chunk.sha256))
            return
        }
        let outcome: Result<Void, any Error>?
        do {
            outcome = try fetch.receiver.add(chunk) ? .success(()) : nil
        } catch {
            fetch.receiver.abandon()
            logger.warning("artifact transfer failed", ("artifact", digest.hex), ("error", "\(error)"))
            outcome = .failure(error)
        }
        guard let outcome else { return }
        state.withLock { state in
            fetch.outcome = outcome
            state.fetches[digest] = nil
        }
        state.broadcast()
        if case .success = outcome { logger.info("artifact verified", ("artifact", digest.hex)) }
    }

    /// Ends every pending fetch with `error`.
    func failFetches(_ error: any Error) {
        let pending = state.withLock { state -> Int in
            for fetch in state.fetches.values where fetch.outcome == nil { fetch.outcome = .failure(error) }
            let count = state.fetches.count
            state.fetches = [:]
            return count
        }
        if pending > 0 { state.broadcast() }
    }
}
