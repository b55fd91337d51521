import ElideSupport
import ElideWire

/// One tensor from a client to a server thread, timed from the first byte sent until the receiver's
/// acknowledgement arrives. Three variants on three connections, alternating:
///
/// - `framed`: `FramedConnection.sendTensor` with the default `TensorCodec` (4 MiB chunks; the data is random,
///   so the codec's sample finds nothing to gain and sends it raw) and `receiveTensor`, which assembles the
///   tensor in a fresh array. The receiver then replies with an `Ack` message.
/// - `raw_fresh`: one `send` loop of the same bytes into a receive buffer allocated for each transfer, the
///   same memory situation as `receiveTensor`'s fresh tensor. The receiver replies with one byte.
/// - `raw_reused`: the same into one receive buffer kept, and already touched, across transfers.
///
/// Besides the wall time, each record has the CPU time of the whole process during the transfer, which is the
/// work of the sending and the receiving thread together.
struct TransferBench {
    let byteCount: Int
    let repetitions: Int
    let variants: [Variant]

    enum Variant: String, CaseIterable {
        case framed
        case rawFresh = "raw_fresh"
        case rawReused = "raw_reused"
    }

    func run() throws {
        let token = try ClusterToken(text: "cluster-bench-token-0123456789abcdef", source: "the benchmark's token")
        let tensor = try Self.randomTensor(byteCount: byteCount, seed: 64)
        let framedServer = try Self.framedServer(expected: tensor, token: token)
        let freshServer = try Self.rawServer(byteCount: byteCount, reuseBuffer: false)
        let reusedServer = try Self.rawServer(byteCount: byteCount, reuseBuffer: true)

        let framed = try FramedConnection.connect(to: framedServer.address)
        _ = try Handshake.introduce(
            WireMessage.Hello(role: .worker, workerName: "bench", slots: 1), on: framed, token: token)
        let fresh = try TCPConnection.connect(to: freshServer.address)
        let reused = try TCPConnection.connect(to: reusedServer.address)

        // Repetition 0 warms up each connection (TCP window, first page faults) and is not recorded.
        for repetition in 0...repetitions {
            var order = variants
            order.rotate(by: repetition)
            for variant in order {
                let seconds: Double
                let cpuStart = ProcessCPUClock.now()
                switch variant {
                case .framed: seconds = try Self.sendFramed(tensor, over: framed, index: repetition)
                case .rawFresh: seconds = try Self.sendRaw(tensor, over: fresh)
                case .rawReused: seconds = try Self.sendRaw(tensor, over: reused)
                }
                let cpuSeconds = ProcessCPUClock.seconds(since: cpuStart)
                guard repetition > 0 else { continue }
                var record = BenchRecord(test: "transfer")
                record["variant"] = .text(variant.rawValue)
                record["repetition"] = .integer(repetition)
                record["bytes"] = .integer(byteCount)
                record["seconds"] = .number(seconds)
                record["gb_per_s"] = .number(Double(byteCount) / seconds / 1e9)
                // Sender and receiver threads together; unlike wall time, barely affected by other processes.
                record["cpu_seconds"] = .number(cpuSeconds)
                record.print()
            }
        }

        framed.close()
        fresh.close()
        reused.close()
        try framedServer.finish()
        try freshServer.finish()
        try reusedServer.finish()
    }

    private static func sendFramed(_ tensor: WireTensor, over connection: FramedConnection, index: Int) throws
        -> Double
    {
        let start = MonotonicClock.now()
        try connection.sendTensor(tensor, tensorID: "t\(index)")
        let reply = try connection.receive(timeout: .seconds(60))
        let seconds = MonotonicClock.seconds(since: start)
        guard case .ack = reply else { throw BenchFailure("expected an ack after the tensor, received \(reply.name)") }
        return seconds
    }

    private static func sendRaw(_ tensor: WireTensor, over connection: TCPConnection) throws -> Double {
        var acknowledgement: UInt8 = 0
        let start = MonotonicClock.now()
        try tensor.bytes.withUnsafeBytes { try RawSocket.writeAll(connection.fileDescriptor, $0) }
        let received = try withUnsafeMutableBytes(of: &acknowledgement) {
            try RawSocket.readExactly(connection.fileDescriptor, $0)
        }
        let seconds = MonotonicClock.seconds(since: start)
        guard received, acknowledgement == 1 else { throw BenchFailure("the raw receiver sent no acknowledgement") }
        return seconds
    }

    /// Receives tensors and acknowledges each; the first one is compared with `expected` byte for byte.
    private static func framedServer(expected: WireTensor, token: ClusterToken) throws -> LoopbackServer {
        try LoopbackServer(name: "transfer-framed") { connection in
            let framed = FramedConnection(connection)
            _ = try Handshake.acceptPeer(on: framed, token: token)
            try framed.send(.welcome(WireMessage.Welcome(workerID: "w1", coordinatorID: "bench")))
            var checked = false
            while true {
                let tensor: WireTensor
                do {
                    tensor = try framed.receiveTensor(maxTensorBytes: 1 << 30).tensor
                } catch WireError.connectionClosed {
                    return
                }
                if !checked {
                    guard tensor == expected else {
                        throw BenchFailure("the tensor received through sendTensor differs from the one sent")
                    }
                    checked = true
                } else if tensor.bytes.count != expected.bytes.count {
                    throw BenchFailure("received \(tensor.bytes.count) tensor bytes, expected \(expected.bytes.count)")
                }
                try framed.send(.ack(WireMessage.Ack()))
            }
        }
    }

    private static func rawServer(byteCount: Int, reuseBuffer: Bool) throws -> LoopbackServer {
        try LoopbackServer(name: reuseBuffer ? "transfer-raw-reused" : "transfer-raw-fresh") { connection in
            var acknowledgement: UInt8 = 1
            var kept: UnsafeMutableRawBufferPointer?
            if reuseBuffer {
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 64)
                buffer.initializeMemory(as: UInt8.self, repeating: 0)
                kept = buffer
            }
            defer { kept?.deallocate() }
            while true {
                let buffer = kept ?? UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 16)
                defer { if kept == nil { buffer.deallocate() } }
                guard try RawSocket.readExactly(connection.fileDescriptor, buffer) else { return }
                try withUnsafeBytes(of: &acknowledgement) { try RawSocket.writeAll(connection.fileDescriptor, $0) }
            }
        }
    }

    /// Uniformly random bytes as a u8 tensor: incompressible, so the codec sends it raw.
    static func randomTensor(byteCount: Int, seed: UInt64) throws -> WireTensor {
        precondition(byteCount % 8 == 0, "the transfer size must be a multiple of 8 bytes, got \(byteCount)")
        var generator = SeededGenerator(seed: seed)
        let bytes = [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, count in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            for word in 0..<(byteCount / 8) {
                raw.storeBytes(of: generator.next(), toByteOffset: word * 8, as: UInt64.self)
            }
            count = byteCount
        }
        return try WireTensor(dtype: .u8, shape: [byteCount], bytes: bytes)
    }
}

extension Array {
    /// Moves the first `count % self.count` elements to the end.
    fileprivate mutating func rotate(by count: Int) {
        guard !isEmpty else { return }
        let shift = count % self.count
        self = Array(self[shift...] + self[..<shift])
    }
}
