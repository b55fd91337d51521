import ElideSupport
import ElideWire
import Foundation

extension CoordinatorServer {
    /// Authenticates a new connection and serves it as a worker or a client until it closes.
    func servePeer(_ connection: FramedConnection) {
        let peer = connection.peerAddress.description
        let tracked = state.withLock { state -> Bool in
            guard !state.isClosed else { return false }
            state.connections[ObjectIdentifier(connection)] = connection
            return true
        }
        guard tracked else {
            connection.close()
            return
        }
        defer {
            connection.close()
            state.withLock { state in
                state.connections[ObjectIdentifier(connection)] = nil
                state.closedBytesSent += connection.bytesSent
                state.closedBytesReceived += connection.bytesReceived
            }
        }

        let hello: WireMessage.Hello
        do {
            hello = try Handshake.acceptPeer(on: connection, token: token, timeout: options.handshakeTimeout)
        } catch {
            logger.warning("connection rejected", ("peer", peer), ("reason", "\(error)"))
            return
        }
        switch hello.role {
        case .worker:
            serveWorker(connection, hello: hello)
        case .client:
            serveClient(connection)
        case .unspecified:
            logger.warning("connection rejected", ("peer", peer), ("reason", "hello names no role"))
        }
    }

    // MARK: - Workers

    private func serveWorker(_ connection: FramedConnection, hello: WireMessage.Hello) {
        let peer = connection.peerAddress.description
        let name = hello.workerName.isEmpty ? "\(hello.hostName)-\(hello.processID)" : hello.workerName
        let registration = WorkerRegistration(
            name: name, address: peer, processID: Int32(clamping: hello.processID), slots: max(0, hello.slots),
            artifacts: hello.cachedArtifacts.compactMap(ArtifactDigest.init(hex:)))
        let outbox = Outbox(connection: connection, name: name, logger: logger)
        let registered: WorkerID? = mutate { state in
            let (id, directives) = state.core.registerWorker(registration, now: .now())
            state.sessions[id] = outbox
            let welcome = WireMessage.Welcome(
                workerID: id.description, heartbeatInterval: options.heartbeatInterval, coordinatorID: coordinatorID)
            outbox.send(.welcome(welcome))
            return (id, directives)
        }
        guard let worker = registered else {
            outbox.close()
            return
        }

        var reason = "connection closed"
        var deregistered = false
        receiving: while true {
            let message: WireMessage
            do {
                message = try connection.receive()
            } catch {
                reason = "\(error)"
                break
            }
            switch message {
            case .heartbeat(let beat):
                let digests = beat.cachedArtifacts.compactMap(ArtifactDigest.init(hex:))
                mutate { state in
                    state.core.heartbeat(from: worker, now: .now())
                    for digest in digests { state.core.workerHolds(digest, worker: worker) }
                    return ((), [])
                }
            case .taskResult(let result):
                handleResult(result, from: worker)
            case .artifactRequest(let request):
                serveArtifact(request, on: connection, worker: worker)
            case .drain:
                mutate { state in
                    state.core.drain(worker)
                    return ((), [])
                }
            case .deregister:
                deregistered = true
                break receiving
            default:
                logger.warning(
                    "unexpected message from worker", ("worker.id", worker.description), ("message", message.name))
            }
        }

        mutate { state in
            state.sessions[worker] = nil
            let now = MonotonicInstant.now()
            if deregistered { return ((), try state.core.workerLeft(worker, now: now, wallTime: wallClockSeconds())) }
            return ((), try state.core.workerLost(worker, reason: reason, now: now, wallTime: wallClockSeconds()))
        }
        outbox.close(waitForWriter: true)
    }

    private func handleResult(_ result: WireMessage.TaskResult, from worker: WorkerID) {
        guard let attempt = TaskAttempt(jobID: result.jobID, taskID: result.taskID, attempt: result.attempt) else {
            logger.warning(
                "ignoring a result with an invalid task reference", ("worker.id", worker.description),
                ("job.id", result.jobID), ("task.index", String(result.taskID)))
            return
        }
        mutate { state in
            let now = MonotonicInstant.now()
            switch result.outcome {
            case .ok:
                return (
                    (),
                    try state.core.taskSucceeded(
                        attempt, worker: worker, output: result.payload, now: now, wallTime: wallClockSeconds())
                )
            case .error:
                return (
                    (),
                    try state.core.taskFailed(
                        attempt, worker: worker, message: result.errorMessage, now: now, wallTime: wallClockSeconds())
                )
            case .released:
                return ((), state.core.taskHandedBack(attempt, worker: worker, now: now))
            case .cancelled, .unspecified:
                return ((), [])
            }
        }
    }

    private func serveArtifact(
        _ request: WireMessage.ArtifactRequest, on connection: FramedConnection, worker: WorkerID
    ) {
        guard let digest = ArtifactDigest(hex: request.sha256), artifacts.contains(digest) else {
            let message = "artifact \(request.sha256) is not in the coordinator's store"
            logger.warning("artifact not found", ("worker.id", worker.description), ("artifact", request.sha256))
            try? connection.send(.error(WireMessage.ErrorMessage(code: .notFound, message: message)))
            return
        }
        do {
            try ArtifactSender.forEachChunk(
                ofFileAt: artifacts.path(for: digest), sha256: digest.hex, offset: request.offset
            ) { chunk in
                try connection.send(.artifactChunk(chunk))
            }
            logger.info("artifact sent", ("worker.id", worker.description), ("artifact", digest.hex))
        } catch {
            logger.warning("artifact transfer failed", ("worker.id", worker.description), ("error", "\(error)"))
            connection.close()
        }
    }

    // MARK: - Clients

    private func serveClient(_ connection: FramedConnection) {
        let welcome = WireMessage.Welcome(heartbeatInterval: options.heartbeatInterval, coordinatorID: coordinatorID)
        guard (try? connection.send(.welcome(welcome))) != nil else { return }
        while true {
            let message: WireMessage
            do {
                message = try connection.receive()
            } catch {
                return
            }
            let reply = clientReply(to: message)
            do {
                try connection.send(reply)
            } catch {
                return
            }
        }
    }

    private func clientReply(to message: WireMessage) -> WireMessage {
        switch message {
        case .jobSubmit(let submit):
            return submitJob(submit)
        case .statusRequest:
            return .statusReply(state.withLock { statusSnapshot($0) }.wireMessage(coordinatorID: coordinatorID))
        case .jobResultRequest(let request):
            guard let job = JobID(parsing: request.jobID), let row = jobStatus(job) else {
                return notFound(request.jobID)
            }
            let report = row.report.flatMap { try? ClusterJSON.encoder.encode($0) }.map { [UInt8]($0) } ?? []
            return .jobResultReply(WireMessage.JobResultReply(status: row.wireMessage, report: report))
        case .waitRequest(let request):
            guard let job = JobID(parsing: request.jobID), jobStatus(job) != nil else { return notFound(request.jobID) }
            _ = state.wait(
                until: { $0.isClosed || $0.core.jobs[job]?.state.isFinished == true },
                deadline: .now() + min(request.timeout, .seconds(3600)))
            // !-safe: the job exists (checked above) and jobs are never removed.
            return .jobStatus(jobStatus(job)!.wireMessage)
        case .cancel(let request):
            guard let job = JobID(parsing: request.jobID) else { return notFound(request.jobID) }
            do {
                try mutateThrowing { state in ((), try state.core.cancel(job, wallTime: wallClockSeconds())) }
            } catch {
                return .error(WireMessage.ErrorMessage(code: .invalidRequest, message: "\(error)"))
            }
            return jobStatus(job).map { .jobStatus($0.wireMessage) } ?? notFound(request.jobID)
        case .shutdown(let request):
            logger.info("shutdown requested by a client", ("reason", request.reason))
            SignalWaiter.requestTermination()
            return .ack(WireMessage.Ack(detail: "coordinator stopping"))
        default:
            return .error(
                WireMessage.ErrorMessage(
                    code: .unexpectedMessage, message: "a client may not send \(message.name) to the coordinator"))
        }
    }

    // NOTE: `submit.clientRequestID` is ignored, so a client that resends after a lost reply starts a second job.
    private func submitJob(_ submit: WireMessage.JobSubmit) -> WireMessage {
        var options = submit.options
        let seedText = options.removeValue(forKey: "seed") ?? "0"
        guard let seed = UInt64(seedText) else {
            return .error(
                WireMessage.ErrorMessage(
                    code: .invalidRequest, message: "invalid seed '\(seedText)': expected a whole number ≥ 0"))
        }
        let spec = JobSpec(kind: submit.kind, seed: seed, options: options)
        do {
            let job: JobID? = try mutateThrowing { state in try state.core.submit(spec, wallTime: wallClockSeconds()) }
            guard let job else { throw CoordinatorError.stopping }
            return .jobSubmitReply(WireMessage.JobSubmitReply(jobID: job.description))
        } catch let error as CoordinatorError {
            let code: WireMessage.ErrorCode = error == .stopping ? .shuttingDown : .invalidRequest
            return .error(WireMessage.ErrorMessage(code: code, message: error.description))
        } catch {
            return .error(WireMessage.ErrorMessage(code: .internalError, message: "\(error)"))
        }
    }

    private func jobStatus(_ job: JobID) -> JobStatus? {
        state.withLock { state in statusSnapshot(state).jobs.first { $0.id == job.description } }
    }

    private func notFound(_ jobID: String) -> WireMessage {
        .error(WireMessage.ErrorMessage(code: .notFound, message: "job '\(jobID)' not found; 'elide jobs' lists jobs"))
    }
}
