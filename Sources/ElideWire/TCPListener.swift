import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A listening TCP socket. `accept()` blocks the calling OS thread until a peer connects.
public final class TCPListener: Sendable {
    public let fileDescriptor: Int32
    /// The bound address; its port is the real one when port 0 asked for an ephemeral port.
    public let address: WireAddress
    private let closed = Atomic<Bool>(false)

    /// Binds and listens on `host:port` (SO_REUSEADDR on, so a restarted coordinator can take its port again).
    ///
    /// - Parameter port: 0 picks a free ephemeral port; read it from `port`.
    /// - Throws: `WireError.socketFailed` (for example "Address already in use") or `.invalidAddress`.
    public init(host: String, port: Int, backlog: Int32 = 128) throws {
        let name = WireAddress(host: host, port: port).description
        guard let resolved = try SocketSupport.resolve(host: host, port: port, passive: true).first else {
            throw WireError.invalidAddress(name, reason: "the host resolved to no address")
        }
        let descriptor = try SocketSupport.makeSocket(family: resolved.family, address: name)
        SocketSupport.setOption(descriptor, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
        let bound = resolved.withSocketAddress { bind(descriptor, $0, $1) }
        guard bound == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw WireError.socketFailed(operation: "bind to", address: name, errno: code)
        }
        guard listen(descriptor, backlog) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw WireError.socketFailed(operation: "listen on", address: name, errno: code)
        }
        self.fileDescriptor = descriptor
        self.address = SocketSupport.localAddress(of: descriptor)
    }

    public convenience init(address: WireAddress, backlog: Int32 = 128) throws {
        try self.init(host: address.host, port: address.port, backlog: backlog)
    }

    deinit {
        Glibc.close(fileDescriptor)
    }

    public var port: Int { address.port }

    public var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Waits for the next peer.
    ///
    /// - Parameter timeout: longest wait; nil waits until a peer connects or `close()` is called.
    /// - Throws: `WireError.closedLocally` after `close()`, `.timedOut`, or `.socketFailed`.
    public func accept(timeout: Duration? = nil) throws -> TCPConnection {
        while true {
            guard !isClosed else { throw WireError.closedLocally(address: address.description) }
            if let timeout {
                let ready = try SocketSupport.wait(
                    fileDescriptor, events: Int16(POLLIN), timeout: timeout, address: address.description)
                guard ready else {
                    throw WireError.timedOut(peer: address.description, operation: "accept", timeout: timeout)
                }
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let descriptor = withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fileDescriptor, $0, &length) }
            }
            if descriptor >= 0 {
                // accept4 does not import into Swift, so close-on-exec is set in a second call.
                _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
                return TCPConnection(
                    fileDescriptor: descriptor, peerAddress: SocketSupport.describe(storage, length: length))
            }
            let code = errno
            if isClosed { throw WireError.closedLocally(address: address.description) }
            // The peer gave up before accept, or a signal interrupted the call: wait for the next peer.
            if code == EINTR || code == ECONNABORTED || code == EAGAIN { continue }
            throw WireError.socketFailed(operation: "accept on", address: address.description, errno: code)
        }
    }

    /// Stops listening and wakes a thread blocked in `accept()`, which then throws `WireError.closedLocally`.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = Glibc.shutdown(fileDescriptor, Int32(SHUT_RDWR))
    }
}
