import ElideWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A server thread on 127.0.0.1 that accepts one client and runs `serve` on its connection until `serve`
/// returns, which it does when the client closes.
final class LoopbackServer: Sendable {
    let address: WireAddress
    private let thread: OSThread
    private let failure: FailureBox

    /// The server thread's error, written by that thread and read after it ended.
    private final class FailureBox: Sendable {
        let error = Mutex<(any Error)?>(nil)
    }

    init(name: String, serve: @escaping @Sendable (TCPConnection) throws -> Void) throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let failure = FailureBox()
        address = listener.address
        self.failure = failure
        thread = OSThread.start(name: name) {
            defer { listener.close() }
            do {
                let connection = try listener.accept(timeout: .seconds(30))
                defer { connection.close() }
                try serve(connection)
            } catch {
                failure.error.withLock { $0 = error }
            }
        }
    }

    /// Waits for the server thread and rethrows its error, if any. Close the client connection first.
    func finish() throws {
        thread.join()
        if let error = failure.error.withLock({ $0 }) { throw error }
    }
}

/// Blocking send and receive straight on a socket descriptor: the baseline the framed protocol is measured
/// against.
enum RawSocket {
    /// Sends every byte of `buffer`.
    static func writeAll(_ descriptor: Int32, _ buffer: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < buffer.count {
            let written = send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                throw BenchFailure("raw send failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Fills `buffer`; returns false when the peer closed before the first byte.
    static func readExactly(_ descriptor: Int32, _ buffer: UnsafeMutableRawBufferPointer) throws -> Bool {
        var offset = 0
        while offset < buffer.count {
            let received = recv(descriptor, buffer.baseAddress! + offset, buffer.count - offset, 0)
            if received > 0 {
                offset += received
            } else if received == 0 {
                if offset == 0 { return false }
                throw BenchFailure("raw receive: the peer closed after \(offset) of \(buffer.count) bytes")
            } else if errno != EINTR {
                throw BenchFailure("raw receive failed: \(String(cString: strerror(errno)))")
            }
        }
        return true
    }
}
