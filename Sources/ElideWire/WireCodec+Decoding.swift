import CProtobufC
import ElideProto

// MARK: - protobuf-c structs to Swift values

/// Converters from unpacked protobuf-c structs to `WireMessage` values. They copy everything they keep, so the
/// caller may free the unpacked tree as soon as conversion returns.
extension WireCodec {
    static func message(from envelope: Elide__V1__Envelope) throws -> WireMessage {
        switch envelope.body_case {
        case ELIDE__V1__ENVELOPE__BODY_CHALLENGE:
            return .challenge(challenge(try body(envelope.challenge, "challenge")))
        case ELIDE__V1__ENVELOPE__BODY_HELLO:
            return .hello(hello(try body(envelope.hello, "hello")))
        case ELIDE__V1__ENVELOPE__BODY_WELCOME:
            return .welcome(welcome(try body(envelope.welcome, "welcome")))
        case ELIDE__V1__ENVELOPE__BODY_HEARTBEAT:
            return .heartbeat(heartbeat(try body(envelope.heartbeat, "heartbeat")))
        case ELIDE__V1__ENVELOPE__BODY_TASK_ASSIGNMENT:
            return .taskAssignment(taskAssignment(try body(envelope.task_assignment, "task_assignment")))
        case ELIDE__V1__ENVELOPE__BODY_TASK_RESULT:
            return .taskResult(taskResult(try body(envelope.task_result, "task_result")))
        case ELIDE__V1__ENVELOPE__BODY_TENSOR_CHUNK:
            return .tensorChunk(try tensorChunk(try body(envelope.tensor_chunk, "tensor_chunk")))
        case ELIDE__V1__ENVELOPE__BODY_ARTIFACT_REQUEST:
            return .artifactRequest(artifactRequest(try body(envelope.artifact_request, "artifact_request")))
        case ELIDE__V1__ENVELOPE__BODY_ARTIFACT_CHUNK:
            return .artifactChunk(artifactChunk(try body(envelope.artifact_chunk, "artifact_chunk")))
        case ELIDE__V1__ENVELOPE__BODY_JOB_SUBMIT:
            return .jobSubmit(jobSubmit(try body(envelope.job_submit, "job_submit")))
        case ELIDE__V1__ENVELOPE__BODY_JOB_SUBMIT_REPLY:
            return .jobSubmitReply(jobSubmitReply(try body(envelope.job_submit_reply, "job_submit_reply")))
        case ELIDE__V1__ENVELOPE__BODY_STATUS_REQUEST:
            return .statusRequest(statusRequest(try body(envelope.status_request, "status_request")))
        case ELIDE__V1__ENVELOPE__BODY_STATUS_REPLY:
            return .statusReply(statusReply(try body(envelope.status_reply, "status_reply")))
        case ELIDE__V1__ENVELOPE__BODY_JOB_RESULT_REQUEST:
            return .jobResultRequest(jobResultRequest(try body(envelope.job_result_request, "job_result_request")))
        case ELIDE__V1__ENVELOPE__BODY_JOB_RESULT_REPLY:
            return .jobResultReply(jobResultReply(try body(envelope.job_result_reply, "job_result_reply")))
        case ELIDE__V1__ENVELOPE__BODY_WAIT_REQUEST:
            return .waitRequest(waitRequest(try body(envelope.wait_request, "wait_request")))
        case ELIDE__V1__ENVELOPE__BODY_JOB_STATUS:
            return .jobStatus(jobStatus(try body(envelope.job_status, "job_status")))
        case ELIDE__V1__ENVELOPE__BODY_CANCEL:
            return .cancel(cancel(try body(envelope.cancel, "cancel")))
        case ELIDE__V1__ENVELOPE__BODY_DRAIN:
            return .drain(drain(try body(envelope.drain, "drain")))
        case ELIDE__V1__ENVELOPE__BODY_DEREGISTER:
            return .deregister(deregister(try body(envelope.deregister, "deregister")))
        case ELIDE__V1__ENVELOPE__BODY_SHUTDOWN:
            return .shutdown(shutdown(try body(envelope.shutdown, "shutdown")))
        case ELIDE__V1__ENVELOPE__BODY_ACK:
            return .ack(ack(try body(envelope.ack, "ack")))
        case ELIDE__V1__ENVELOPE__BODY_ERROR:
            return .error(errorMessage(try body(envelope.error, "error")))
        default:
            throw WireError.invalidMessage(
                "the envelope has no body this version knows (oneof case \(envelope.body_case.rawValue)); "
                    + "the peer may run a newer protocol")
        }
    }

    private static func body<T>(_ pointer: UnsafeMutablePointer<T>?, _ name: String) throws -> T {
        guard let pointer else {
            throw WireError.invalidMessage("the envelope's \(name) body is set but empty")
        }
        return pointer.pointee
    }

    // MARK: Field helpers

    static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    static func bytes(_ field: ProtobufCBinaryData) -> [UInt8] {
        guard let data = field.data, field.len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: field.len))
    }

    static func strings(_ array: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, count: Int) -> [String] {
        guard let array, count > 0 else { return [] }
        return (0..<count).map { string(array[$0]) }
    }

    static func messages<C, S>(
        _ array: UnsafeMutablePointer<UnsafeMutablePointer<C>?>?, count: Int, _ convert: (C) -> S
    ) -> [S] {
        guard let array, count > 0 else { return [] }
        return (0..<count).compactMap { index in array[index].map { convert($0.pointee) } }
    }

    // MARK: Handshake

    static func challenge(_ message: Elide__V1__Challenge) -> WireMessage.Challenge {
        WireMessage.Challenge(nonce: bytes(message.nonce), protocolVersion: message.protocol_version)
    }

    static func hello(_ message: Elide__V1__Hello) -> WireMessage.Hello {
        WireMessage.Hello(
            protocolVersion: message.protocol_version, role: role(message.role), hmac: bytes(message.hmac),
            workerName: string(message.worker_name), workerID: string(message.worker_id), slots: Int(message.slots),
            memoryBytes: Int(message.memory_bytes), processID: Int(message.process_id),
            hostName: string(message.host_name), listenAddress: string(message.listen_address),
            cacheDirectory: string(message.cache_dir),
            cachedArtifacts: strings(message.cached_artifacts, count: message.n_cached_artifacts),
            runningTasks: messages(message.running_tasks, count: message.n_running_tasks, taskRef))
    }

    static func welcome(_ message: Elide__V1__Welcome) -> WireMessage.Welcome {
        WireMessage.Welcome(
            workerID: string(message.worker_id), heartbeatInterval: .nanoseconds(message.heartbeat_interval_ns),
            protocolVersion: message.protocol_version, coordinatorID: string(message.coordinator_id))
    }

    // MARK: Tasks

    static func taskRef(_ message: Elide__V1__TaskRef) -> WireMessage.TaskRef {
        WireMessage.TaskRef(jobID: string(message.job_id), taskID: Int(message.task_id), attempt: Int(message.attempt))
    }

    static func heartbeat(_ message: Elide__V1__Heartbeat) -> WireMessage.Heartbeat {
        WireMessage.Heartbeat(
            workerID: string(message.worker_id), sequence: message.sequence,
            runningTasks: messages(message.running_tasks, count: message.n_running_tasks, taskRef),
            slotsUsed: Int(message.slots_used), tasksDone: Int(message.tasks_done),
            cachedArtifacts: strings(message.cached_artifacts, count: message.n_cached_artifacts))
    }

    static func taskAssignment(_ message: Elide__V1__TaskAssignment) -> WireMessage.TaskAssignment {
        WireMessage.TaskAssignment(
            jobID: string(message.job_id), taskID: Int(message.task_id), attempt: Int(message.attempt),
            kind: string(message.kind), payload: bytes(message.payload),
            requiredArtifacts: strings(message.required_artifacts, count: message.n_required_artifacts),
            seed: message.seed)
    }

    static func taskResult(_ message: Elide__V1__TaskResult) -> WireMessage.TaskResult {
        WireMessage.TaskResult(
            jobID: string(message.job_id), taskID: Int(message.task_id), attempt: Int(message.attempt),
            outcome: taskOutcome(message.outcome), payload: bytes(message.payload),
            errorMessage: string(message.error_message), duration: .nanoseconds(message.duration_ns),
            workerID: string(message.worker_id))
    }

    // MARK: Bulk data

    /// - Parameter copyingData: false leaves `data` empty for callers that read it from `message` directly.
    static func tensorChunk(
        _ message: Elide__V1__TensorChunk, copyingData: Bool = true
    ) throws -> WireMessage.TensorChunk {
        guard let compression = compression(message.compression) else {
            throw WireError.invalidMessage(
                "tensor_chunk uses compression \(message.compression.rawValue), which this version does not know")
        }
        let shape = message.shape.map { Array(UnsafeBufferPointer(start: $0, count: message.n_shape)) } ?? []
        return WireMessage.TensorChunk(
            tensorID: string(message.tensor_id), dtype: tensorDType(message.dtype), shape: shape.map { Int($0) },
            chunkIndex: Int(message.chunk_index), chunkCount: Int(message.chunk_count),
            totalBytes: Int(message.total_bytes), compression: compression, rawLength: Int(message.raw_length),
            data: copyingData ? bytes(message.data) : [])
    }

    static func artifactRequest(_ message: Elide__V1__ArtifactRequest) -> WireMessage.ArtifactRequest {
        WireMessage.ArtifactRequest(sha256: string(message.sha256), offset: Int(message.offset))
    }

    static func artifactChunk(_ message: Elide__V1__ArtifactChunk) -> WireMessage.ArtifactChunk {
        WireMessage.ArtifactChunk(
            sha256: string(message.sha256), offset: Int(message.offset), totalSize: Int(message.total_size),
            data: bytes(message.data), isLast: message.last != 0)
    }

    // MARK: Jobs

    static func jobSubmit(_ message: Elide__V1__JobSubmit) -> WireMessage.JobSubmit {
        var options: [String: String] = [:]
        for option in messages(message.options, count: message.n_options, { $0 }) {
            // A repeated key keeps its last value, as protobuf map fields do.
            options[string(option.key)] = string(option.value)
        }
        return WireMessage.JobSubmit(
            kind: string(message.kind), options: options, payload: bytes(message.payload),
            clientRequestID: string(message.client_request_id))
    }

    static func jobSubmitReply(_ message: Elide__V1__JobSubmitReply) -> WireMessage.JobSubmitReply {
        WireMessage.JobSubmitReply(jobID: string(message.job_id), duplicate: message.duplicate != 0)
    }

    static func jobStatus(_ message: Elide__V1__JobStatus) -> WireMessage.JobStatus {
        WireMessage.JobStatus(
            jobID: string(message.job_id), kind: string(message.kind), state: jobState(message.state),
            progressFraction: message.progress_fraction, progressText: string(message.progress_text),
            elapsed: .nanoseconds(message.elapsed_ns), tasksDone: Int(message.tasks_done),
            tasksTotal: Int(message.tasks_total), tasksRunning: Int(message.tasks_running),
            retries: Int(message.retries), errorMessage: string(message.error_message),
            submittedAtUnixMilliseconds: Int(message.submitted_at_unix_ms))
    }

    static func waitRequest(_ message: Elide__V1__WaitRequest) -> WireMessage.WaitRequest {
        WireMessage.WaitRequest(jobID: string(message.job_id), timeout: .nanoseconds(message.timeout_ns))
    }

    static func jobResultRequest(_ message: Elide__V1__JobResultRequest) -> WireMessage.JobResultRequest {
        WireMessage.JobResultRequest(jobID: string(message.job_id))
    }

    static func jobResultReply(_ message: Elide__V1__JobResultReply) -> WireMessage.JobResultReply {
        let status = message.status.map { jobStatus($0.pointee) } ?? WireMessage.JobStatus(jobID: "")
        return WireMessage.JobResultReply(status: status, report: bytes(message.report))
    }

    // MARK: Status

    static func workerStatus(_ message: Elide__V1__WorkerStatus) -> WireMessage.WorkerStatus {
        WireMessage.WorkerStatus(
            workerID: string(message.worker_id), name: string(message.name), address: string(message.address),
            processID: Int(message.process_id), state: workerState(message.state),
            slotsUsed: Int(message.slots_used), slotsTotal: Int(message.slots_total),
            tasksDone: Int(message.tasks_done), lastHeartbeatAge: .nanoseconds(message.last_heartbeat_age_ns),
            memoryBytes: Int(message.memory_bytes), hostName: string(message.host_name),
            runningTasks: messages(message.running_tasks, count: message.n_running_tasks, taskRef))
    }

    static func statusRequest(_ message: Elide__V1__StatusRequest) -> WireMessage.StatusRequest {
        WireMessage.StatusRequest(jobID: string(message.job_id))
    }

    static func statusReply(_ message: Elide__V1__StatusReply) -> WireMessage.StatusReply {
        WireMessage.StatusReply(
            workers: messages(message.workers, count: message.n_workers, workerStatus),
            jobs: messages(message.jobs, count: message.n_jobs, jobStatus),
            coordinatorID: string(message.coordinator_id), coordinatorAddress: string(message.coordinator_address),
            coordinatorProcessID: Int(message.coordinator_process_id), uptime: .nanoseconds(message.uptime_ns),
            protocolVersion: message.protocol_version)
    }

    // MARK: Control

    static func cancel(_ message: Elide__V1__Cancel) -> WireMessage.Cancel {
        WireMessage.Cancel(jobID: string(message.job_id), reason: string(message.reason))
    }

    static func drain(_ message: Elide__V1__Drain) -> WireMessage.Drain {
        WireMessage.Drain(workerID: string(message.worker_id), reason: string(message.reason))
    }

    static func deregister(_ message: Elide__V1__Deregister) -> WireMessage.Deregister {
        WireMessage.Deregister(workerID: string(message.worker_id), reason: string(message.reason))
    }

    static func shutdown(_ message: Elide__V1__Shutdown) -> WireMessage.Shutdown {
        WireMessage.Shutdown(reason: string(message.reason), stopWorkers: message.stop_workers != 0)
    }

    static func ack(_ message: Elide__V1__Ack) -> WireMessage.Ack {
        WireMessage.Ack(detail: string(message.detail))
    }

    static func errorMessage(_ message: Elide__V1__Error) -> WireMessage.ErrorMessage {
        WireMessage.ErrorMessage(code: errorCode(message.code), message: string(message.message))
    }
}
