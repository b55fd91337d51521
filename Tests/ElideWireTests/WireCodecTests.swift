import Testing

@testable import ElideWire

/// One message of every kind, each with non-default values in every field.
let sampleMessages: [WireMessage] = {
    let task = WireMessage.TaskRef(jobID: "job-7", taskID: 41, attempt: 2)
    let job = WireMessage.JobStatus(
        jobID: "job-7", kind: "matmul", state: .running, progressFraction: 0.375,
        progressText: "3/8 tasks", elapsed: .milliseconds(12_345), tasksDone: 3, tasksTotal: 8, tasksRunning: 2,
        retries: 1, errorMessage: "worker w2 lost", submittedAtUnixMilliseconds: 1_796_000_000_000)
    return [
        .challenge(WireMessage.Challenge(nonce: Array(0..<32), protocolVersion: 7)),
        .hello(
            WireMessage.Hello(
                protocolVersion: 3, role: .worker, hmac: [9, 8, 7], workerName: "node-a", workerID: "w3",
                slots: 4, memoryBytes: 8 << 30, processID: 4321, hostName: "node-a.local",
                listenAddress: "127.0.0.1:9000", cacheDirectory: "/tmp/cache",
                cachedArtifacts: [String(repeating: "a", count: 64), String(repeating: "b", count: 64)],
                runningTasks: [task, WireMessage.TaskRef(jobID: "job-8", taskID: 0, attempt: 1)])),
        .welcome(
            WireMessage.Welcome(
                workerID: "w3", heartbeatInterval: .milliseconds(1_500), protocolVersion: 3, coordinatorID: "c-1")),
        .heartbeat(
            WireMessage.Heartbeat(
                workerID: "w3", sequence: 1 << 40, runningTasks: [task], slotsUsed: 1, tasksDone: 99,
                cachedArtifacts: ["ff"])),
        .taskAssignment(
            WireMessage.TaskAssignment(
                jobID: "job-7", taskID: 41, attempt: 2, kind: "sleep", payload: [1, 2, 3, 0, 255],
                requiredArtifacts: ["abc", "def"], seed: UInt64.max)),
        .taskResult(
            WireMessage.TaskResult(
                jobID: "job-7", taskID: 41, attempt: 2, outcome: .error, payload: [0xAA],
                errorMessage: "matrix too large", duration: .microseconds(1_234_567), workerID: "w3")),
        .tensorChunk(
            WireMessage.TensorChunk(
                tensorID: "t-1", dtype: .q4_1, shape: [576, 1536], chunkIndex: 1, chunkCount: 3, totalBytes: 552_960,
                compression: .zstd, rawLength: 4096, data: [5, 6, 7])),
        .artifactRequest(WireMessage.ArtifactRequest(sha256: String(repeating: "c", count: 64), offset: 4096)),
        .artifactChunk(
            WireMessage.ArtifactChunk(
                sha256: String(repeating: "c", count: 64), offset: 4096, totalSize: 10_000, data: [1, 1, 2, 3, 5],
                isLast: true)),
        .jobSubmit(
            WireMessage.JobSubmit(
                kind: "matmul", options: ["tasks": "8", "size": "256", "seed": "42"], payload: [42],
                clientRequestID: "req-1")),
        .jobSubmitReply(WireMessage.JobSubmitReply(jobID: "job-7", duplicate: true)),
        .statusRequest(WireMessage.StatusRequest(jobID: "job-7")),
        .statusReply(
            WireMessage.StatusReply(
                workers: [
                    WireMessage.WorkerStatus(
                        workerID: "w3", name: "node-a", address: "127.0.0.1:51000", processID: 4321, state: .suspect,
                        slotsUsed: 2, slotsTotal: 4, tasksDone: 17, lastHeartbeatAge: .milliseconds(3_200),
                        memoryBytes: 1 << 33, hostName: "node-a.local", runningTasks: [task])
                ], jobs: [job], coordinatorID: "c-1", coordinatorAddress: "127.0.0.1:7070",
                coordinatorProcessID: 1000, uptime: .seconds(3_600), protocolVersion: 3)),
        .jobResultRequest(WireMessage.JobResultRequest(jobID: "job-7")),
        .jobResultReply(WireMessage.JobResultReply(status: job, report: Array("{\"checksum\":1}".utf8))),
        .waitRequest(WireMessage.WaitRequest(jobID: "job-7", timeout: .seconds(2))),
        .jobStatus(job),
        .cancel(WireMessage.Cancel(jobID: "job-7", reason: "user request")),
        .drain(WireMessage.Drain(workerID: "w3", reason: "SIGTERM")),
        .deregister(WireMessage.Deregister(workerID: "w3", reason: "shutting down")),
        .shutdown(WireMessage.Shutdown(reason: "cluster down", stopWorkers: true)),
        .ack(WireMessage.Ack(detail: "cancelled")),
        .error(WireMessage.ErrorMessage(code: .notFound, message: "no job job-9")),
    ]
}()

@Test func sampleMessagesCoverEveryCase() {
    let names = Set(sampleMessages.map(\.name))
    #expect(names.count == sampleMessages.count)
    #expect(names.count == 23)
}

@Test(arguments: sampleMessages)
func codecRoundTrip(message: WireMessage) throws {
    let bytes = WireCodec.encode(message)
    let decoded = try WireCodec.decode(bytes)
    #expect(decoded == message)
}

@Test func defaultMessagesRoundTrip() throws {
    let messages: [WireMessage] = [
        .hello(WireMessage.Hello(role: .client)),
        .welcome(WireMessage.Welcome()),
        .statusRequest(WireMessage.StatusRequest()),
        .statusReply(WireMessage.StatusReply()),
        .ack(WireMessage.Ack()),
        .jobResultReply(WireMessage.JobResultReply(status: WireMessage.JobStatus(jobID: ""))),
        .tensorChunk(
            WireMessage.TensorChunk(
                tensorID: "", dtype: .u8, shape: [], chunkIndex: 0, chunkCount: 1, totalBytes: 0,
                compression: .none, rawLength: 0, data: [])),
    ]
    for message in messages {
        #expect(try WireCodec.decode(WireCodec.encode(message)) == message)
    }
}

@Test func enumsRoundTripEveryCase() throws {
    for role in WireMessage.Role.allCases {
        let message = WireMessage.hello(WireMessage.Hello(role: role))
        #expect(try WireCodec.decode(WireCodec.encode(message)) == message)
    }
    for outcome in WireMessage.TaskOutcome.allCases {
        let message = WireMessage.taskResult(
            WireMessage.TaskResult(jobID: "j", taskID: 1, attempt: 1, outcome: outcome))
        #expect(try WireCodec.decode(WireCodec.encode(message)) == message)
    }
    for dtype in WireMessage.TensorDType.allCases {
        for compression in WireMessage.Compression.allCases {
            let message = WireMessage.tensorChunk(
                WireMessage.TensorChunk(
                    tensorID: "t", dtype: dtype, shape: [2], chunkIndex: 0, chunkCount: 1, totalBytes: 2,
                    compression: compression, rawLength: 2, data: [1, 2]))
            #expect(try WireCodec.decode(WireCodec.encode(message)) == message)
        }
    }
    for state in WireMessage.JobState.allCases {
        let message = WireMessage.jobStatus(WireMessage.JobStatus(jobID: "j", state: state))
        #expect(try WireCodec.decode(WireCodec.encode(message)) == message)
    }
    for state in WireMessage.WorkerState.allCases {
        let message = WireMessage.statusReply(
            WireMessage.StatusReply(workers: [WireMessage.WorkerStatus(workerID: "w", state: state)]))
        #expect(try WireCodec.decode(WireCodec.encode(message)) == message)
    }
    for code in WireMessage.ErrorCode.allCases {
        let message = WireMessage.error(WireMessage.ErrorMessage(code: code, message: "m"))
        #expect(try WireCodec.decode(WireCodec.encode(message)) == message)
    }
}

@Test func frameCarriesBigEndianLength() {
    let message = WireMessage.ack(WireMessage.Ack(detail: String(repeating: "x", count: 300)))
    let body = WireCodec.encode(message)
    let frame = WireCodec.encodeFrame(message)
    #expect(frame.count == body.count + 4)
    let length = Int(frame[0]) << 24 | Int(frame[1]) << 16 | Int(frame[2]) << 8 | Int(frame[3])
    #expect(length == body.count)
    #expect(Array(frame[4...]) == body)
}

@Test func jobSubmitEncodingIsDeterministic() {
    var options: [String: String] = [:]
    for index in 0..<50 { options["key\(index)"] = "value\(index)" }
    var reversed: [String: String] = [:]
    for index in (0..<50).reversed() { reversed["key\(index)"] = "value\(index)" }
    let first = WireCodec.encode(.jobSubmit(WireMessage.JobSubmit(kind: "sleep", options: options)))
    let second = WireCodec.encode(.jobSubmit(WireMessage.JobSubmit(kind: "sleep", options: reversed)))
    #expect(first == second)
}

@Test func emptyEnvelopeIsRejected() {
    #expect(throws: WireError.self) { try WireCodec.decode([]) }
}

@Test func unknownBodyFieldIsRejected() {
    // Field 99, length-delimited, 0 bytes: a body added by a newer protocol version.
    let bytes: [UInt8] = [0x9A, 0x06, 0x00]
    #expect {
        try WireCodec.decode(bytes)
    } throws: { error in
        guard case WireError.invalidMessage(let reason) = error else { return false }
        return reason.contains("newer protocol")
    }
}

@Test func garbageBytesAreRejected() {
    // Field 1 with wire type 7, which protobuf does not define.
    #expect(throws: WireError.decodeFailed(peer: "memory", length: 3)) {
        try WireCodec.decode([0x0F, 0x01, 0x02])
    }
    // A length-delimited field that claims more bytes than follow.
    #expect(throws: WireError.decodeFailed(peer: "memory", length: 3)) {
        try WireCodec.decode([0x0A, 0x7F, 0x00])
    }
}

@Test func unknownCompressionIsRejected() throws {
    var bytes = WireCodec.encode(
        .tensorChunk(
            WireMessage.TensorChunk(
                tensorID: "t", dtype: .u8, shape: [1], chunkIndex: 0, chunkCount: 1, totalBytes: 1,
                compression: .zstd, rawLength: 1, data: [1])))
    // The compression field (7, varint) is encoded as 0x38 0x01 inside the chunk; change its value to 9.
    let position = try #require(bytes.indices.dropLast().first { bytes[$0] == 0x38 && bytes[$0 + 1] == 0x01 })
    bytes[position + 1] = 0x09
    #expect(throws: WireError.self) { try WireCodec.decode(bytes) }
}
