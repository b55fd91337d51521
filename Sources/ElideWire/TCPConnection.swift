import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A connected TCP socket with blocking I/O, for use on OS threads (never inside Swift concurrency tasks,
/// whose few pool threads a blocking call would stall).
///
/// Reads and writes loop over EINTR and partial transfers; sends pass MSG_NOSIGNAL; TCP_NODELAY is on.
/// `close()` shuts the socket down, which wakes a thread blocked in `read`. The descriptor itself is released
/// when the object is deinitialized, so a blocked thread never reads from a reused descriptor number.
public final class TCPConnection: Sendable {
    public let fileDescriptor: Int32
    /// The other end, for example `127.0.0.1:51334`.
    public let peerAddress: WireAddress
    public let localAddress: WireAddress
    /// `peerAddress.description`, formatted once for errors.
    let peerName: String
    private let closed = Atomic<Bool>(false)
    private let sendTimeout = Mutex<Duration?>(nil)

    /// Wraps an already connected socket and takes ownership of it.
    init(fileDescriptor: Int32, peerAddress: WireAddress) {
        self.fileDescriptor = fileDescriptor
        self.peerAddress = peerAddress
        self.peerName = peerAddress.description
        self.localAddress = SocketSupport.localAddress(of: fileDescriptor)
        SocketSupport.setOption(fileDescriptor, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
        SocketSupport.setOption(fileDescriptor, level: SOL_SOCKET, name: SO_KEEPALIVE, value: 1)
    }

    deinit {
        Glibc.close(fileDescriptor)
    }

    /// Connects to `host:port`, trying each address the resolver returns until one accepts.
    ///
    /// - Parameter timeout: limit for each connection attempt.
    /// - Throws: `WireError.socketFailed` (for example "Connection refused"), `.timedOut` or `.invalidAddress`.
    public static func connect(host: String, port: Int, timeout: Duration = .seconds(5)) throws -> TCPConnection {
        let target = WireAddress(host: host, port: port)
        var lastError: Error = WireError.invalidAddress(target.description, reason: "the host resolved to no address")
        for address in try SocketSupport.resolve(host: host, port: port, passive: false) {
            do {
                return try connect(to: address, timeout: timeout, name: target.description)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    public static func connect(to address: WireAddress, timeout: Duration = .seconds(5)) throws -> TCPConnection {
        try connect(host: address.host, port: address.port, timeout: timeout)
    }

    private static func connect(to address: ResolvedAddress, timeout: Duration, name: String) throws -> TCPConnection {
        let descriptor = try SocketSupport.makeSocket(family: address.family, address: name)
        var succeeded = false
        defer { if !succeeded { Glibc.close(descriptor) } }

        // A non-blocking connect lets poll enforce the timeout; the socket is blocking again afterwards.
        SocketSupport.setNonBlocking(descriptor, true)
        let status = address.withSocketAddress { Glibc.connect(descriptor, $0, $1) }
        if status != 0 {
            guard errno == EINPROGRESS || errno == EINTR else {
                throw WireError.socketFailed(operation: "connect to", address: name, errno: errno)
            }
            guard try SocketSupport.wait(descriptor, events: Int16(POLLOUT), timeout: timeout, address: name) else {
                throw WireError.timedOut(peer: name, operation: "connect", timeout: timeout)
            }
            var pendingError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &pendingError, &length)
            if pendingError != 0 {
                throw WireError.socketFailed(operation: "connect to", address: name, errno: pendingError)
            }
        }
        SocketSupport.setNonBlocking(descriptor, false)
        succeeded = true
        return TCPConnection(
            fileDescriptor: descriptor, peerAddress: SocketSupport.describe(address.storage, length: address.length))
    }

    // MARK: - I/O

    public var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Limits how long one blocked `write` may wait for the peer to read; nil waits without limit.
    public func setSendTimeout(_ timeout: Duration?) {
        sendTimeout.withLock { $0 = timeout }
        SocketSupport.setTimeoutOption(fileDescriptor, name: SO_SNDTIMEO, timeout: timeout)
    }

    /// Writes every byte of `buffer`.
    ///
    /// - Throws: `WireError.timedOut` when the send timeout passed, `.socketFailed` when the peer is gone,
    ///   `.closedLocally` after `close()`.
    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard !isClosed else { throw WireError.closedLocally(address: peerName) }
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let written = Glibc.send(fileDescriptor, base + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            if written > 0 {
                offset += written
                continue
            }
            if written < 0 && errno == EINTR { continue }
            if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                let timeout = sendTimeout.withLock { $0 } ?? .zero
                throw WireError.timedOut(peer: peerName, operation: "send", timeout: timeout)
            }
            if isClosed { throw WireError.closedLocally(address: peerName) }
            throw WireError.socketFailed(operation: "send to", address: peerName, errno: errno)
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Reads at most `buffer.count` bytes; returns 0 when the peer closed the connection.
    ///
    /// - Parameter timeout: longest wait for data; nil waits without limit.
    /// - Throws: `WireError.timedOut` when no data arrived in time.
    public func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration?) throws -> Int {
        guard !isClosed else { throw WireError.closedLocally(address: peerName) }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        if let timeout {
            let ready = try SocketSupport.wait(
                fileDescriptor, events: Int16(POLLIN), timeout: timeout, address: peerName)
            guard ready else {
                throw WireError.timedOut(peer: peerName, operation: "receive", timeout: timeout)
            }
        }
        while true {
            let received = recv(fileDescriptor, base, buffer.count, 0)
            if received >= 0 {
                // A local close() shuts the socket down, which also makes recv return 0.
                if received == 0 && isClosed { throw WireError.closedLocally(address: peerName) }
                return received
            }
            if errno == EINTR { continue }
            if isClosed { throw WireError.closedLocally(address: peerName) }
            throw WireError.socketFailed(operation: "receive from", address: peerName, errno: errno)
        }
    }

    /// Reads until `buffer` is full or the peer closes; returns the number of bytes read.
    ///
    /// - Parameters:
    ///   - firstByteTimeout: longest wait for the first byte; nil waits without limit.
    ///   - progressTimeout: longest wait for each later piece; nil waits without limit.
    public func readFully(
        into buffer: UnsafeMutableRawBufferPointer, firstByteTimeout: Duration?, progressTimeout: Duration?
    ) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])
            let received = try read(into: rest, timeout: filled == 0 ? firstByteTimeout : progressTimeout)
            if received == 0 { break }
            filled += received
        }
        return filled
    }

    /// Closes the sending direction only; the peer reads end of stream after the bytes already sent.
    public func shutdownWrite() {
        _ = Glibc.shutdown(fileDescriptor, Int32(SHUT_WR))
    }

    /// Shuts the connection down in both directions and wakes any thread blocked on it. Safe to call repeatedly
    /// and from any thread.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = Glibc.shutdown(fileDescriptor, Int32(SHUT_RDWR))
    }
}
