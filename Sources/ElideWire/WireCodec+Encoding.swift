import CProtobufC
import ElideProto

// MARK: - Swift values to protobuf-c structs

/// Builders of protobuf-c structs from `WireMessage` values. Nested messages, strings and arrays live in
/// `arena`; `bulk` is the one large `bytes` field of a message, borrowed instead of copied.
extension WireCodec {
    static func fillEnvelope(
        _ envelope: inout Elide__V1__Envelope, with message: WireMessage, arena: CArena, bulk: UnsafeRawBufferPointer
    ) {
        switch message {
        case .challenge(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_CHALLENGE
            envelope.challenge = arena.pointer(to: cChallenge(value, arena))
        case .hello(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_HELLO
            envelope.hello = arena.pointer(to: cHello(value, arena))
        case .welcome(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_WELCOME
            envelope.welcome = arena.pointer(to: cWelcome(value, arena))
        case .heartbeat(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_HEARTBEAT
            envelope.heartbeat = arena.pointer(to: cHeartbeat(value, arena))
        case .taskAssignment(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_TASK_ASSIGNMENT
            envelope.task_assignment = arena.pointer(to: cTaskAssignment(value, arena, payload: bulk))
        case .taskResult(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_TASK_RESULT
            envelope.task_result = arena.pointer(to: cTaskResult(value, arena, payload: bulk))
        case .tensorChunk(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_TENSOR_CHUNK
            envelope.tensor_chunk = arena.pointer(to: cTensorChunk(value, arena, data: bulk))
        case .artifactRequest(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_ARTIFACT_REQUEST
            envelope.artifact_request = arena.pointer(to: cArtifactRequest(value, arena))
        case .artifactChunk(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_ARTIFACT_CHUNK
            envelope.artifact_chunk = arena.pointer(to: cArtifactChunk(value, arena, data: bulk))
        case .jobSubmit(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_JOB_SUBMIT
            envelope.job_submit = arena.pointer(to: cJobSubmit(value, arena, payload: bulk))
        case .jobSubmitReply(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_JOB_SUBMIT_REPLY
            envelope.job_submit_reply = arena.pointer(to: cJobSubmitReply(value, arena))
        case .statusRequest(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_STATUS_REQUEST
            envelope.status_request = arena.pointer(to: cStatusRequest(value, arena))
        case .statusReply(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_STATUS_REPLY
            envelope.status_reply = arena.pointer(to: cStatusReply(value, arena))
        case .jobResultRequest(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_JOB_RESULT_REQUEST
            envelope.job_result_request = arena.pointer(to: cJobResultRequest(value, arena))
        case .jobResultReply(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_JOB_RESULT_REPLY
            envelope.job_result_reply = arena.pointer(to: cJobResultReply(value, arena, report: bulk))
        case .waitRequest(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_WAIT_REQUEST
            envelope.wait_request = arena.pointer(to: cWaitRequest(value, arena))
        case .jobStatus(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_JOB_STATUS
            envelope.job_status = arena.pointer(to: cJobStatus(value, arena))
        case .cancel(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_CANCEL
            envelope.cancel = arena.pointer(to: cCancel(value, arena))
        case .drain(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_DRAIN
            envelope.drain = arena.pointer(to: cDrain(value, arena))
        case .deregister(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_DEREGISTER
            envelope.deregister = arena.pointer(to: cDeregister(value, arena))
        case .shutdown(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_SHUTDOWN
            envelope.shutdown = arena.pointer(to: cShutdown(value, arena))
        case .ack(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_ACK
            envelope.ack = arena.pointer(to: cAck(value, arena))
        case .error(let value):
            envelope.body_case = ELIDE__V1__ENVELOPE__BODY_ERROR
            envelope.error = arena.pointer(to: cError(value, arena))
        }
    }

    /// Returns the large `bytes` field of `message`, which encoding borrows instead of copying; empty for other messages.
    static func bulkBytes(of message: WireMessage) -> [UInt8] {
        switch message {
        case .taskAssignment(let value): return value.payload
        case .taskResult(let value): return value.payload
        case .tensorChunk(let value): return value.data
        case .artifactChunk(let value): return value.data
        case .jobSubmit(let value): return value.payload
        case .jobResultReply(let value): return value.report
        default: return []
        }
    }

    // MARK: Handshake

    static func cChallenge(_ value: WireMessage.Challenge, _ arena: CArena) -> Elide__V1__Challenge {
        var message = Elide__V1__Challenge()
        elide__v1__challenge__init(&message)
        message.nonce = arena.binary(value.nonce)
        message.protocol_version = value.protocolVersion
        return message
    }

    static func cHello(_ value: WireMessage.Hello, _ arena: CArena) -> Elide__V1__Hello {
        var message = Elide__V1__Hello()
        elide__v1__hello__init(&message)
        message.protocol_version = value.protocolVersion
        message.role = cRole(value.role)
        message.hmac = arena.binary(value.hmac)
        message.worker_name = arena.cString(value.workerName)
        message.worker_id = arena.cString(value.workerID)
        message.slots = Int64(value.slots)
        message.memory_bytes = Int64(value.memoryBytes)
        message.process_id = Int64(value.processID)
        message.host_name = arena.cString(value.hostName)
        message.listen_address = arena.cString(value.listenAddress)
        message.cache_dir = arena.cString(value.cacheDirectory)
        message.n_cached_artifacts = value.cachedArtifacts.count
        message.cached_artifacts = arena.cStringArray(value.cachedArtifacts)
        message.n_running_tasks = value.runningTasks.count
        message.running_tasks = arena.pointerArray(value.runningTasks.map { cTaskRef($0, arena) })
        return message
    }

    static func cWelcome(_ value: WireMessage.Welcome, _ arena: CArena) -> Elide__V1__Welcome {
        var message = Elide__V1__Welcome()
        elide__v1__welcome__init(&message)
        message.worker_id = arena.cString(value.workerID)
        message.heartbeat_interval_ns = value.heartbeatInterval.wireNanoseconds
        message.protocol_version = value.protocolVersion
        message.coordinator_id = arena.cString(value.coordinatorID)
        return message
    }

    // MARK: Tasks

    static func cTaskRef(_ value: WireMessage.TaskRef, _ arena: CArena) -> Elide__V1__TaskRef {
        var message = Elide__V1__TaskRef()
        elide__v1__task_ref__init(&message)
        message.job_id = arena.cString(value.jobID)
        message.task_id = Int64(value.taskID)
        message.attempt = Int64(value.attempt)
        return message
    }

    static func cHeartbeat(_ value: WireMessage.Heartbeat, _ arena: CArena) -> Elide__V1__Heartbeat {
        var message = Elide__V1__Heartbeat()
        elide__v1__heartbeat__init(&message)
        message.worker_id = arena.cString(value.workerID)
        message.sequence = value.sequence
        message.n_running_tasks = value.runningTasks.count
        message.running_tasks = arena.pointerArray(value.runningTasks.map { cTaskRef($0, arena) })
        message.slots_used = Int64(value.slotsUsed)
        message.tasks_done = Int64(value.tasksDone)
        message.n_cached_artifacts = value.cachedArtifacts.count
        message.cached_artifacts = arena.cStringArray(value.cachedArtifacts)
        return message
    }

    static func cTaskAssignment(
        _ value: WireMessage.TaskAssignment, _ arena: CArena, payload: UnsafeRawBufferPointer
    ) -> Elide__V1__TaskAssignment {
        var message = Elide__V1__TaskAssignment()
        elide__v1__task_assignment__init(&message)
        message.job_id = arena.cString(value.jobID)
        message.task_id = Int64(value.taskID)
        message.attempt = Int64(value.attempt)
        message.kind = arena.cString(value.kind)
        message.payload = arena.binary(borrowing: payload)
        message.n_required_artifacts = value.requiredArtifacts.count
        message.required_artifacts = arena.cStringArray(value.requiredArtifacts)
        message.seed = value.seed
        return message
    }

    static func cTaskResult(
        _ value: WireMessage.TaskResult, _ arena: CArena, payload: UnsafeRawBufferPointer
    ) -> Elide__V1__TaskResult {
        var message = Elide__V1__TaskResult()
        elide__v1__task_result__init(&message)
        message.job_id = arena.cString(value.jobID)
        message.task_id = Int64(value.taskID)
        message.attempt = Int64(value.attempt)
        message.outcome = cTaskOutcome(value.outcome)
        message.payload = arena.binary(borrowing: payload)
        message.error_message = arena.cString(value.errorMessage)
        message.duration_ns = value.duration.wireNanoseconds
        message.worker_id = arena.cString(value.workerID)
        return message
    }

    // MARK: Bulk data

    static func cTensorChunk(
        _ value: WireMessage.TensorChunk, _ arena: CArena, data: UnsafeRawBufferPointer
    ) -> Elide__V1__TensorChunk {
        var message = Elide__V1__TensorChunk()
        elide__v1__tensor_chunk__init(&message)
        message.tensor_id = arena.cString(value.tensorID)
        message.dtype = cTensorDType(value.dtype)
        message.n_shape = value.shape.count
        message.shape = arena.int64Array(value.shape)
        message.chunk_index = Int64(value.chunkIndex)
        message.chunk_count = Int64(value.chunkCount)
        message.total_bytes = Int64(value.totalBytes)
        message.compression = cCompression(value.compression)
        message.raw_length = Int64(value.rawLength)
        message.data = arena.binary(borrowing: data)
        return message
    }

    static func cArtifactRequest(_ value: WireMessage.ArtifactRequest, _ arena: CArena) -> Elide__V1__ArtifactRequest {
        var message = Elide__V1__ArtifactRequest()
        elide__v1__artifact_request__init(&message)
        message.sha256 = arena.cString(value.sha256)
        message.offset = Int64(value.offset)
        return message
    }

    static func cArtifactChunk(
        _ value: WireMessage.ArtifactChunk, _ arena: CArena, data: UnsafeRawBufferPointer
    ) -> Elide__V1__ArtifactChunk {
        var message = Elide__V1__ArtifactChunk()
        elide__v1__artifact_chunk__init(&message)
        message.sha256 = arena.cString(value.sha256)
        message.offset = Int64(value.offset)
        message.total_size = Int64(value.totalSize)
        message.data = arena.binary(borrowing: data)
        message.last = value.isLast ? 1 : 0
        return message
    }

    // MARK: Jobs

    static func cJobSubmit(
        _ value: WireMessage.JobSubmit, _ arena: CArena, payload: UnsafeRawBufferPointer
    ) -> Elide__V1__JobSubmit {
        var message = Elide__V1__JobSubmit()
        elide__v1__job_submit__init(&message)
        message.kind = arena.cString(value.kind)
        let options = value.options.sorted { $0.key < $1.key }.map { key, optionValue in
            var option = Elide__V1__Option()
            elide__v1__option__init(&option)
            option.key = arena.cString(key)
            option.value = arena.cString(optionValue)
            return option
        }
        message.n_options = options.count
        message.options = arena.pointerArray(options)
        message.payload = arena.binary(borrowing: payload)
        message.client_request_id = arena.cString(value.clientRequestID)
        return message
    }

    static func cJobSubmitReply(_ value: WireMessage.JobSubmitReply, _ arena: CArena) -> Elide__V1__JobSubmitReply {
        var message = Elide__V1__JobSubmitReply()
        elide__v1__job_submit_reply__init(&message)
        message.job_id = arena.cString(value.jobID)
        message.duplicate = value.duplicate ? 1 : 0
        return message
    }

    static func cJobStatus(_ value: WireMessage.JobStatus, _ arena: CArena) -> Elide__V1__JobStatus {
        var message = Elide__V1__JobStatus()
        elide__v1__job_status__init(&message)
        message.job_id = arena.cString(value.jobID)
        message.kind = arena.cString(value.kind)
        message.state = cJobState(value.state)
        message.progress_fraction = value.progressFraction
        message.progress_text = arena.cString(value.progressText)
        message.elapsed_ns = value.elapsed.wireNanoseconds
        message.tasks_done = Int64(value.tasksDone)
        message.tasks_total = Int64(value.tasksTotal)
        message.tasks_running = Int64(value.tasksRunning)
        message.retries = Int64(value.retries)
        message.error_message = arena.cString(value.errorMessage)
        message.submitted_at_unix_ms = Int64(value.submittedAtUnixMilliseconds)
        return message
    }

    static func cWaitRequest(_ value: WireMessage.WaitRequest, _ arena: CArena) -> Elide__V1__WaitRequest {
        var message = Elide__V1__WaitRequest()
        elide__v1__wait_request__init(&message)
        message.job_id = arena.cString(value.jobID)
        message.timeout_ns = value.timeout.wireNanoseconds
        return message
    }

    static func cJobResultRequest(
        _ value: WireMessage.JobResultRequest, _ arena: CArena
    ) -> Elide__V1__JobResultRequest {
        var message = Elide__V1__JobResultRequest()
        elide__v1__job_result_request__init(&message)
        message.job_id = arena.cString(value.jobID)
        return message
    }

    static func cJobResultReply(
        _ value: WireMessage.JobResultReply, _ arena: CArena, report: UnsafeRawBufferPointer
    ) -> Elide__V1__JobResultReply {
        var message = Elide__V1__JobResultReply()
        elide__v1__job_result_reply__init(&message)
        message.status = arena.pointer(to: cJobStatus(value.status, arena))
        message.report = arena.binary(borrowing: report)
        return message
    }

    // MARK: Status

    static func cWorkerStatus(_ value: WireMessage.WorkerStatus, _ arena: CArena) -> Elide__V1__WorkerStatus {
        var message = Elide__V1__WorkerStatus()
        elide__v1__worker_status__init(&message)
        message.worker_id = arena.cString(value.workerID)
        message.name = arena.cString(value.name)
        message.address = arena.cString(value.address)
        message.process_id = Int64(value.processID)
        message.state = cWorkerState(value.state)
        message.slots_used = Int64(value.slotsUsed)
        message.slots_total = Int64(value.slotsTotal)
        message.tasks_done = Int64(value.tasksDone)
        message.last_heartbeat_age_ns = value.lastHeartbeatAge.wireNanoseconds
        message.memory_bytes = Int64(value.memoryBytes)
        message.host_name = arena.cString(value.hostName)
        message.n_running_tasks = value.runningTasks.count
        message.running_tasks = arena.pointerArray(value.runningTasks.map { cTaskRef($0, arena) })
        return message
    }

    static func cStatusRequest(_ value: WireMessage.StatusRequest, _ arena: CArena) -> Elide__V1__StatusRequest {
        var message = Elide__V1__StatusRequest()
        elide__v1__status_request__init(&message)
        message.job_id = arena.cString(value.jobID)
        return message
    }

    static func cStatusReply(_ value: WireMessage.StatusReply, _ arena: CArena) -> Elide__V1__StatusReply {
        var message = Elide__V1__StatusReply()
        elide__v1__status_reply__init(&message)
        message.n_workers = value.workers.count
        message.workers = arena.pointerArray(value.workers.map { cWorkerStatus($0, arena) })
        message.n_jobs = value.jobs.count
        message.jobs = arena.pointerArray(value.jobs.map { cJobStatus($0, arena) })
        message.coordinator_id = arena.cString(value.coordinatorID)
        message.coordinator_address = arena.cString(value.coordinatorAddress)
        message.coordinator_process_id = Int64(value.coordinatorProcessID)
        message.uptime_ns = value.uptime.wireNanoseconds
        message.protocol_version = value.protocolVersion
        return message
    }

    // MARK: Control

    static func cCancel(_ value: WireMessage.Cancel, _ arena: CArena) -> Elide__V1__Cancel {
        var message = Elide__V1__Cancel()
        elide__v1__cancel__init(&message)
        message.job_id = arena.cString(value.jobID)
        message.reason = arena.cString(value.reason)
        return message
    }

    static func cDrain(_ value: WireMessage.Drain, _ arena: CArena) -> Elide__V1__Drain {
        var message = Elide__V1__Drain()
        elide__v1__drain__init(&message)
        message.worker_id = arena.cString(value.workerID)
        message.reason = arena.cString(value.reason)
        return message
    }

    static func cDeregister(_ value: WireMessage.Deregister, _ arena: CArena) -> Elide__V1__Deregister {
        var message = Elide__V1__Deregister()
        elide__v1__deregister__init(&message)
        message.worker_id = arena.cString(value.workerID)
        message.reason = arena.cString(value.reason)
        return message
    }

    static func cShutdown(_ value: WireMessage.Shutdown, _ arena: CArena) -> Elide__V1__Shutdown {
        var message = Elide__V1__Shutdown()
        elide__v1__shutdown__init(&message)
        message.reason = arena.cString(value.reason)
        message.stop_workers = value.stopWorkers ? 1 : 0
        return message
    }

    static func cAck(_ value: WireMessage.Ack, _ arena: CArena) -> Elide__V1__Ack {
        var message = Elide__V1__Ack()
        elide__v1__ack__init(&message)
        message.detail = arena.cString(value.detail)
        return message
    }

    static func cError(_ value: WireMessage.ErrorMessage, _ arena: CArena) -> Elide__V1__Error {
        var message = Elide__V1__Error()
        elide__v1__error__init(&message)
        message.code = cErrorCode(value.code)
        message.message = arena.cString(value.message)
        return message
    }
}
