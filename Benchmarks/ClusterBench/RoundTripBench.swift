import ElideSupport
import ElideWire

/// An empty task's round trip: a `TaskAssignment` to an authenticated peer that replies to each with its
/// `TaskResult`, through `FramedConnection` (encode, frame, send, receive, decode on both sides), against a
/// raw ping-pong on another socket that sends and receives the same numbers of bytes.
///
/// Both connections stay open for the whole test, and the variants alternate in blocks of `blockSize` round
/// trips, so that the other processes on a shared machine slow both alike.
struct RoundTripBench {
    let roundTrips: Int
    let repetitions: Int
    /// Round trips of one variant before switching to the other.
    let blockSize = 250
    /// Untimed round trips of each variant before the first sample, for caches and TCP state.
    let warmUp = 1_000

    /// Builds the assignment the coordinator sends for a `sleep` task of 0 s: job "j1", an 8-byte payload and a
    /// 64-bit seed. Task ids stay in 1000...1999, so every frame has the same size.
    static func assignment(_ index: Int) -> WireMessage.TaskAssignment {
        WireMessage.TaskAssignment(
            jobID: "j1", taskID: 1000 + index % 1000, attempt: 1, kind: "sleep", payload: taskPayload,
            seed: 0x9E37_79B9_7F4A_7C15)
    }

    /// Builds the worker's result for `assignment`, with an 8-byte output as a `sleep` task returns.
    static func result(for assignment: WireMessage.TaskAssignment) -> WireMessage.TaskResult {
        WireMessage.TaskResult(
            jobID: assignment.jobID, taskID: assignment.taskID, attempt: assignment.attempt, outcome: .ok,
            payload: taskOutput, duration: .microseconds(3), workerID: "w1")
    }

    private static let taskPayload = [UInt8](repeating: 0, count: 8)
    private static let taskOutput: [UInt8] = [0x3C, 0x51, 0x9A, 0x07, 0xE2, 0x44, 0x18, 0xB6]

    func run() throws {
        let token = try ClusterToken(text: "cluster-bench-token-0123456789abcdef", source: "the benchmark's token")
        let requestBytes = WireCodec.encodeFrame(.taskAssignment(Self.assignment(0))).count
        let replyBytes = WireCodec.encodeFrame(.taskResult(Self.result(for: Self.assignment(0)))).count
        let framed = try FramedPingPong(token: token)
        let raw = try RawPingPong(requestBytes: requestBytes, replyBytes: replyBytes)
        _ = try framed.run(warmUp)
        _ = try raw.run(warmUp)

        for repetition in 1...repetitions {
            var framedSamples: [Double] = []
            var rawSamples: [Double] = []
            var done = 0
            var block = 0
            while done < roundTrips {
                let count = min(blockSize, roundTrips - done)
                // Alternate which variant goes first.
                if block % 2 == 0 {
                    framedSamples += try framed.run(count)
                    rawSamples += try raw.run(count)
                } else {
                    rawSamples += try raw.run(count)
                    framedSamples += try framed.run(count)
                }
                done += count
                block += 1
            }
            for (variant, samples) in [("framed", framedSamples), ("raw", rawSamples)] {
                let percentiles = Percentiles(samples)
                var record = BenchRecord(test: "round_trip")
                record["variant"] = .text(variant)
                record["repetition"] = .integer(repetition)
                record["round_trips"] = .integer(samples.count)
                record["request_bytes"] = .integer(requestBytes)
                record["reply_bytes"] = .integer(replyBytes)
                record["p50_us"] = .number(percentiles.value(50))
                record["p99_us"] = .number(percentiles.value(99))
                record["mean_us"] = .number(percentiles.mean)
                record.print()
            }
        }
        try framed.finish()
        try raw.finish()
    }
}

/// A client connection to an echo peer that replies to each `TaskAssignment` with its `TaskResult`, after the
/// handshake a worker performs.
private final class FramedPingPong {
    private let server: LoopbackServer
    private let client: FramedConnection
    private var next = 0

    init(token: ClusterToken) throws {
        server = try LoopbackServer(name: "round-trip-framed") { connection in
            let framed = FramedConnection(connection)
            _ = try Handshake.acceptPeer(on: framed, token: token)
            try framed.send(.welcome(WireMessage.Welcome(workerID: "w1", coordinatorID: "bench")))
            while true {
                let message: WireMessage
                do {
                    message = try framed.receive()
                } catch WireError.connectionClosed {
                    return
                }
                guard case .taskAssignment(let assignment) = message else {
                    throw BenchFailure("the echo peer expected task_assignment, received \(message.name)")
                }
                try framed.send(.taskResult(RoundTripBench.result(for: assignment)))
            }
        }
        client = try FramedConnection.connect(to: server.address)
        _ = try Handshake.introduce(
            WireMessage.Hello(role: .worker, workerName: "bench", slots: 1), on: client, token: token)
    }

    /// Runs `count` round trips; returns each one's duration in microseconds.
    func run(_ count: Int) throws -> [Double] {
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let assignment = RoundTripBench.assignment(next)
            next += 1
            let start = MonotonicClock.now()
            try client.send(.taskAssignment(assignment))
            let reply = try client.receive(timeout: .seconds(10))
            let end = MonotonicClock.now()
            guard case .taskResult(let result) = reply, result.taskID == assignment.taskID else {
                throw BenchFailure("expected the task_result of task \(assignment.taskID), received \(reply.name)")
            }
            samples.append(Double(end - start) / 1_000)
        }
        return samples
    }

    func finish() throws {
        client.close()
        try server.finish()
    }
}

/// A client connection to a peer that replies to every `requestBytes` bytes with `replyBytes` bytes, using
/// plain `send` and `recv` on both sides.
private final class RawPingPong {
    private let server: LoopbackServer
    private let client: TCPConnection
    private let request: UnsafeMutableRawBufferPointer
    private let reply: UnsafeMutableRawBufferPointer

    init(requestBytes: Int, replyBytes: Int) throws {
        server = try LoopbackServer(name: "round-trip-raw") { connection in
            let request = UnsafeMutableRawBufferPointer.allocate(byteCount: requestBytes, alignment: 16)
            let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: replyBytes, alignment: 16)
            defer {
                request.deallocate()
                reply.deallocate()
            }
            reply.initializeMemory(as: UInt8.self, repeating: 0x5A)
            while try RawSocket.readExactly(connection.fileDescriptor, request) {
                try RawSocket.writeAll(connection.fileDescriptor, UnsafeRawBufferPointer(reply))
            }
        }
        client = try TCPConnection.connect(to: server.address)
        request = .allocate(byteCount: requestBytes, alignment: 16)
        reply = .allocate(byteCount: replyBytes, alignment: 16)
        request.initializeMemory(as: UInt8.self, repeating: 0xA5)
    }

    deinit {
        request.deallocate()
        reply.deallocate()
    }

    /// Runs `count` round trips; returns each one's duration in microseconds.
    func run(_ count: Int) throws -> [Double] {
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let start = MonotonicClock.now()
            try RawSocket.writeAll(client.fileDescriptor, UnsafeRawBufferPointer(request))
            guard try RawSocket.readExactly(client.fileDescriptor, reply) else {
                throw BenchFailure("the raw echo peer closed the connection")
            }
            let end = MonotonicClock.now()
            samples.append(Double(end - start) / 1_000)
        }
        return samples
    }

    func finish() throws {
        client.close()
        try server.finish()
    }
}
