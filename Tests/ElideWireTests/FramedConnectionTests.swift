import Foundation
import Testing

@testable import ElideWire

/// Framing over real loopback sockets. Every blocking peer runs on an OS thread.
@Suite struct FramedConnectionTests {
    @Test(arguments: ["127.0.0.1", "::1"])
    func messagesRoundTripOverLoopback(host: String) throws {
        let pair = try LoopbackPair(host: host) { connection in
            let framed = FramedConnection(connection)
            // Echo every message until the client closes.
            while let message = try? framed.receive(timeout: .seconds(10)) {
                try? framed.send(message)
            }
        }
        defer { pair.finish() }
        let client = try pair.connect()
        for message in sampleMessages {
            try client.send(message)
            #expect(try client.receive(timeout: .seconds(10)) == message)
        }
        #expect(client.bytesSent == client.bytesReceived)
        #expect(client.bytesSent > 0)
        client.close()
    }

    @Test func cleanCloseBetweenFrames() throws {
        let pair = try LoopbackPair { connection in
            let framed = FramedConnection(connection)
            try? framed.send(.ack(WireMessage.Ack(detail: "one")))
            connection.close()
        }
        defer { pair.finish() }
        let client = try pair.connect()
        #expect(try client.receive(timeout: .seconds(10)) == .ack(WireMessage.Ack(detail: "one")))
        #expect {
            try client.receive(timeout: .seconds(10))
        } throws: { error in
            guard case WireError.connectionClosed = error else { return false }
            return true
        }
    }

    @Test func framesCoalescedInOneWrite() throws {
        let messages = (0..<50).map { WireMessage.ack(WireMessage.Ack(detail: "frame \($0)")) }
        let pair = try LoopbackPair { connection in
            // The last frame is cut short, so the stream ends with a truncated frame.
            let whole = messages.flatMap { WireCodec.encodeFrame($0) }
            let partial = Array(WireCodec.encodeFrame(.ack(WireMessage.Ack(detail: "cut"))).prefix(6))
            try? connection.write(whole + partial)
            connection.close()
        }
        defer { pair.finish() }
        let client = try pair.connect()
        for message in messages {
            #expect(try client.receive(timeout: .seconds(10)) == message)
        }
        #expect {
            try client.receive(timeout: .seconds(10))
        } throws: { error in
            guard case WireError.truncatedFrame(_, _, 6) = error else { return false }
            return true
        }
    }

    @Test func frameSplitIntoSingleBytes() throws {
        let message = WireMessage.taskAssignment(
            WireMessage.TaskAssignment(jobID: "job", taskID: 3, attempt: 1, kind: "sleep", payload: Array(0..<200)))
        let pair = try LoopbackPair { connection in
            for byte in WireCodec.encodeFrame(message) {
                try? connection.write([byte])
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
        defer { pair.finish() }
        let client = try pair.connect()
        #expect(try client.receive(timeout: .seconds(10)) == message)
    }

    @Test func randomBytesAreRejected() throws {
        let pair = try LoopbackPair { connection in
            // A valid-looking length followed by seeded random bytes, then nothing.
            var frame: [UInt8] = [0, 0, 0x03, 0xE8]
            frame += seededBytes(count: 1000, seed: 7)
            try? connection.write(frame)
            Thread.sleep(forTimeInterval: 0.5)
            connection.close()
        }
        defer { pair.finish() }
        let client = try pair.connect()
        #expect {
            try client.receive(timeout: .seconds(10))
        } throws: { error in
            switch error as? WireError {
            case .decodeFailed(_, let length): return length == 1000
            case .invalidMessage: return true
            default: return false
            }
        }
    }

    @Test func randomBytesWithoutFramingAreRejected() throws {
        let pair = try LoopbackPair { connection in
            try? connection.write(seededBytes(count: 64, seed: 11))
            connection.close()
        }
        defer { pair.finish() }
        let client = try pair.connect()
        // Whatever length the first four bytes encode, the frame is too large, truncated or undecodable.
        #expect(throws: WireError.self) { try client.receive(timeout: .seconds(10)) }
    }

    @Test func lengthOf4GiBIsRejectedBeforeReading() throws {
        let pair = try LoopbackPair { connection in
            try? connection.write([0xFF, 0xFF, 0xFF, 0xFF])
            // Keep the connection open: a reader that waited for the body would hang until the test ends.
            _ = try? connection.read(
                into: UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1), timeout: .seconds(10))
            connection.close()
        }
        defer { pair.finish() }
        let client = try pair.connect(settings: .init(frameTimeout: .seconds(60)))
        let started = ContinuousClock.now
        #expect(
            throws: WireError.frameTooLarge(
                peer: client.peerAddress.description, length: 0xFFFF_FFFF, maximum: 64 << 20, outgoing: false)
        ) {
            try client.receive(timeout: .seconds(10))
        }
        #expect(ContinuousClock.now - started < .seconds(30))
        client.close()
    }

    @Test func frameJustOverMaximumIsRejected() throws {
        let maximum = 1024
        let pair = try LoopbackPair { connection in
            let header: [UInt8] = [0, 0, 0x04, 0x01]  // 1025
            try? connection.write(header + [UInt8](repeating: 0, count: 1025))
            Thread.sleep(forTimeInterval: 0.5)
            connection.close()
        }
        defer { pair.finish() }
        let client = try pair.connect(settings: .init(maxFrameBytes: maximum))
        #expect(
            throws: WireError.frameTooLarge(
                peer: client.peerAddress.description, length: maximum + 1, maximum: maximum, outgoing: false)
        ) {
            try client.receive(timeout: .seconds(10))
        }
        // The stream position is lost, so the connection stays failed.
        #expect(throws: WireError.self) { try client.receive(timeout: .seconds(1)) }
    }

    @Test func frameOfExactlyMaximumIsAccepted() throws {
        let maximum = 1024
        // An ack whose detail pads the envelope to exactly `maximum` bytes.
        var detail = ""
        var message = WireMessage.ack(WireMessage.Ack(detail: detail))
        while WireCodec.encode(message).count < maximum {
            detail += "x"
            message = .ack(WireMessage.Ack(detail: detail))
        }
        #expect(WireCodec.encode(message).count == maximum)
        let exact = message
        let pair = try LoopbackPair { connection in
            try? FramedConnection(connection, settings: .init(maxFrameBytes: maximum)).send(exact)
            Thread.sleep(forTimeInterval: 0.5)
        }
        defer { pair.finish() }
        let client = try pair.connect(settings: .init(maxFrameBytes: maximum))
        #expect(try client.receive(timeout: .seconds(10)) == exact)
    }

    @Test func oversizedSendIsRejectedBeforeWriting() throws {
        let pair = try LoopbackPair { connection in
            Thread.sleep(forTimeInterval: 0.2)
            connection.close()
        }
        defer { pair.finish() }
        let client = try pair.connect(settings: .init(maxFrameBytes: 100))
        let large = WireMessage.ack(WireMessage.Ack(detail: String(repeating: "y", count: 200)))
        #expect {
            try client.send(large)
        } throws: { error in
            guard case WireError.frameTooLarge(_, _, 100, true) = error else { return false }
            return true
        }
        #expect(client.bytesSent == 0)
    }

    @Test func sendFrameChecksItsPrefix() throws {
        let pair = try LoopbackPair { connection in
            Thread.sleep(forTimeInterval: 0.2)
            connection.close()
        }
        defer { pair.finish() }
        let client = try pair.connect()
        #expect(throws: WireError.invalidMessage("the frame's length prefix is 5 but 2 bytes follow it")) {
            try client.sendFrame([0, 0, 0, 5, 1, 2])
        }
        #expect(throws: WireError.self) { try client.sendFrame([0, 0]) }
        #expect(client.bytesSent == 0)
    }

    @Test func truncatedFrameThenClose() throws {
        let pair = try LoopbackPair { connection in
            let frame = WireCodec.encodeFrame(.ack(WireMessage.Ack(detail: String(repeating: "z", count: 100))))
            try? connection.write(Array(frame.prefix(14)))
            connection.close()
        }
        defer { pair.finish() }
        let client = try pair.connect()
        #expect {
            try client.receive(timeout: .seconds(10))
        } throws: { error in
            guard case WireError.truncatedFrame(_, let expected, let received) = error else { return false }
            return expected > 100 && received == 14
        }
    }

    @Test func truncatedLengthPrefixThenClose() throws {
        let pair = try LoopbackPair { connection in
            try? connection.write([0, 0])
            connection.close()
        }
        defer { pair.finish() }
        let client = try pair.connect()
        #expect(
            throws: WireError.truncatedFrame(peer: client.peerAddress.description, expectedBytes: 4, receivedBytes: 2)
        ) {
            try client.receive(timeout: .seconds(10))
        }
    }

    @Test func silentPeerTimesOutAndConnectionStaysUsable() throws {
        let release = Box(false)
        let pair = try LoopbackPair { connection in
            // Send nothing until the client has seen its timeout, then one message.
            while !release.value { Thread.sleep(forTimeInterval: 0.01) }
            try? FramedConnection(connection).send(.ack(WireMessage.Ack(detail: "late")))
            Thread.sleep(forTimeInterval: 0.5)
        }
        defer { pair.finish() }
        let client = try pair.connect()
        #expect {
            try client.receive(timeout: .milliseconds(200))
        } throws: { error in
            guard case WireError.timedOut(_, "receive", .milliseconds(200)) = error else { return false }
            return true
        }
        release.value = true
        #expect(try client.receive(timeout: .seconds(10)) == .ack(WireMessage.Ack(detail: "late")))
    }

    @Test func peerStallingMidFrameTimesOut() throws {
        let pair = try LoopbackPair { connection in
            try? connection.write([0, 0, 0, 50, 1, 2])
            Thread.sleep(forTimeInterval: 2)
            connection.close()
        }
        defer { pair.finish() }
        let client = try pair.connect(settings: .init(frameTimeout: .milliseconds(200)))
        #expect {
            try client.receive(timeout: .seconds(10))
        } throws: { error in
            guard case WireError.timedOut = error else { return false }
            return true
        }
        // Unlike an idle timeout, a timeout inside a frame breaks the connection for good.
        #expect(throws: WireError.self) { try client.receive(timeout: .seconds(5)) }
    }

    @Test func closeWakesBlockedReceive() throws {
        let pair = try LoopbackPair { connection in
            Thread.sleep(forTimeInterval: 3)
            connection.close()
        }
        defer { pair.finish() }
        let client = try pair.connect()
        let outcome = Box<WireError?>(nil)
        let reader = OSThread.start(name: "reader") {
            do {
                _ = try client.receive()
            } catch let error as WireError {
                outcome.value = error
            } catch {}
        }
        Thread.sleep(forTimeInterval: 0.2)
        let started = ContinuousClock.now
        client.close()
        reader.join()
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(outcome.value == .closedLocally(address: client.peerAddress.description))
    }

    @Test func largeAndSmallFramesAlternate() throws {
        // 20 MiB is above the 16 MiB that buffers keep between frames, so buffers are freed and regrown.
        let large = WireMessage.taskResult(
            WireMessage.TaskResult(
                jobID: "j", taskID: 1, attempt: 1, outcome: .ok, payload: seededBytes(count: 20 << 20, seed: 12)))
        let small = WireMessage.ack(WireMessage.Ack(detail: "small"))
        let sequence = [small, large, small, small, large, small]
        let received = Box<[WireMessage]>([])
        let pair = try LoopbackPair { connection in
            let framed = FramedConnection(connection)
            var messages: [WireMessage] = []
            while messages.count < sequence.count, let message = try? framed.receive(timeout: .seconds(30)) {
                messages.append(message)
            }
            received.value = messages
        }
        let client = try pair.connect()
        for message in sequence {
            try client.send(message)
        }
        pair.finish()
        #expect(received.value == sequence)
    }

    @Test func manySmallFieldsDecodeOverSocket() throws {
        // Unpacked structs take more memory than their encoding, which overflows the unpack arena's estimate.
        let workers = (0..<3000).map { index in
            WireMessage.WorkerStatus(
                workerID: "w\(index)", name: "n", address: "127.0.0.1:\(index)", state: .alive, slotsTotal: 2,
                runningTasks: [WireMessage.TaskRef(jobID: "j", taskID: index, attempt: 1)])
        }
        let reply = WireMessage.statusReply(WireMessage.StatusReply(workers: workers))
        let received = Box<WireMessage?>(nil)
        let pair = try LoopbackPair { connection in
            received.value = try? FramedConnection(connection).receive(timeout: .seconds(10))
        }
        let client = try pair.connect()
        try client.send(reply)
        pair.finish()
        #expect(received.value == reply)
    }

    @Test func concurrentSendersKeepFramesWhole() throws {
        let senders = 4
        let perSender = 100
        let received = Box<[WireMessage]>([])
        let pair = try LoopbackPair { connection in
            let framed = FramedConnection(connection)
            var messages: [WireMessage] = []
            while messages.count < senders * perSender, let message = try? framed.receive(timeout: .seconds(10)) {
                messages.append(message)
            }
            received.value = messages
        }
        let client = try pair.connect()
        let threads = (0..<senders).map { sender in
            OSThread.start(name: "sender-\(sender)") {
                for index in 0..<perSender {
                    let payload = [UInt8](repeating: UInt8(sender), count: 10_000 + index)
                    try? client.send(
                        .taskResult(
                            WireMessage.TaskResult(
                                jobID: "job", taskID: sender * 1000 + index, attempt: 1, outcome: .ok,
                                payload: payload)))
                }
            }
        }
        threads.forEach { $0.join() }
        pair.finish()
        let results = received.value.compactMap { message -> WireMessage.TaskResult? in
            guard case .taskResult(let result) = message else { return nil }
            return result
        }
        #expect(results.count == senders * perSender)
        #expect(Set(results.map(\.taskID)).count == senders * perSender)
        for result in results {
            let sender = result.taskID / 1000
            #expect(result.payload.count == 10_000 + result.taskID % 1000)
            #expect(result.payload.allSatisfy { Int($0) == sender })
        }
    }
}

@Suite struct SocketTests {
    @Test func listenerReportsEphemeralPort() throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        defer { listener.close() }
        #expect(listener.port > 0)
        #expect(listener.address.host == "127.0.0.1")
    }

    @Test func listenerOnIPv6Loopback() throws {
        let listener = try TCPListener(host: "::1", port: 0)
        defer { listener.close() }
        #expect(listener.address.description == "[::1]:\(listener.port)")
        let client = try TCPConnection.connect(host: "::1", port: listener.port, timeout: .seconds(5))
        let server = try listener.accept(timeout: .seconds(5))
        #expect(server.peerAddress == client.localAddress)
        client.close()
        server.close()
    }

    @Test func closeWakesBlockedAccept() throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let outcome = Box<WireError?>(nil)
        let acceptor = OSThread.start(name: "acceptor") {
            do {
                _ = try listener.accept()
            } catch let error as WireError {
                outcome.value = error
            } catch {}
        }
        Thread.sleep(forTimeInterval: 0.2)
        listener.close()
        acceptor.join()
        #expect(outcome.value == .closedLocally(address: listener.address.description))
    }

    @Test func acceptTimesOut() throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        defer { listener.close() }
        #expect {
            try listener.accept(timeout: .milliseconds(100))
        } throws: { error in
            guard case WireError.timedOut(_, "accept", _) = error else { return false }
            return true
        }
    }

    @Test func connectToClosedPortIsRefused() throws {
        let port: Int
        do {
            let listener = try TCPListener(host: "127.0.0.1", port: 0)
            port = listener.port
            listener.close()
        }
        #expect {
            try TCPConnection.connect(host: "127.0.0.1", port: port, timeout: .seconds(2))
        } throws: { error in
            guard case WireError.socketFailed("connect to", _, ECONNREFUSED) = error else { return false }
            return (error as! WireError).description.contains("refused")
        }
    }

    @Test func portInUseIsReported() throws {
        let first = try TCPListener(host: "127.0.0.1", port: 0)
        defer { first.close() }
        #expect {
            try TCPListener(host: "127.0.0.1", port: first.port)
        } throws: { error in
            guard case WireError.socketFailed("bind to", _, EADDRINUSE) = error else { return false }
            return true
        }
    }
}

@Suite struct WireAddressTests {
    @Test func parsesIPv4AndNames() throws {
        #expect(try WireAddress(parsing: "127.0.0.1:7070") == WireAddress(host: "127.0.0.1", port: 7070))
        #expect(try WireAddress(parsing: "localhost:0") == WireAddress(host: "localhost", port: 0))
    }

    @Test func parsesBracketedIPv6() throws {
        let address = try WireAddress(parsing: "[::1]:7070")
        #expect(address == WireAddress(host: "::1", port: 7070))
        #expect(address.description == "[::1]:7070")
    }

    @Test(arguments: ["127.0.0.1", ":7070", "127.0.0.1:70000", "127.0.0.1:abc", "::1:7070", "[::1]7070", "[::1"])
    func rejectsMalformed(text: String) {
        #expect {
            try WireAddress(parsing: text)
        } throws: { error in
            guard case WireError.invalidAddress(let quoted, _) = error else { return false }
            return quoted == text
        }
    }
}
