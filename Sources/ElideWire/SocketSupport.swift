#if canImport(Glibc)
    import Glibc
#endif

/// Thin helpers over the POSIX socket calls shared by `TCPConnection` and `TCPListener`.
enum SocketSupport {
    /// A write to a socket whose peer is gone raises SIGPIPE, which would end the process. Every send also
    /// passes MSG_NOSIGNAL; ignoring the signal covers any other write path.
    static let ignoreBrokenPipe: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()

    /// Resolves `host:port` to socket addresses in the resolver's order.
    static func resolve(host: String, port: Int, passive: Bool) throws -> [ResolvedAddress] {
        guard (0...65_535).contains(port) else {
            throw WireError.invalidAddress("\(host):\(port)", reason: "the port must be a number from 0 to 65535")
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else {
            let reason = String(cString: gai_strerror(status))
            throw WireError.invalidAddress(WireAddress(host: host, port: port).description, reason: reason)
        }
        defer { freeaddrinfo(list) }

        var addresses: [ResolvedAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            if let socketAddress = current.pointee.ai_addr {
                var storage = sockaddr_storage()
                let length = Int(current.pointee.ai_addrlen)
                withUnsafeMutableBytes(of: &storage) { target in
                    target.copyMemory(from: UnsafeRawBufferPointer(start: socketAddress, count: length))
                }
                addresses.append(
                    ResolvedAddress(
                        family: current.pointee.ai_family, storage: storage, length: current.pointee.ai_addrlen))
            }
            entry = current.pointee.ai_next
        }
        return addresses
    }

    /// Creates a TCP socket that is closed on exec, so processes the daemons start do not inherit it.
    static func makeSocket(family: Int32, address: String) throws -> Int32 {
        _ = ignoreBrokenPipe
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_TCP))
        guard descriptor >= 0 else {
            throw WireError.socketFailed(operation: "socket for", address: address, errno: errno)
        }
        return descriptor
    }

    static func setOption(_ descriptor: Int32, level: Int32, name: Int32, value: Int32) {
        var value = value
        _ = setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    static func setTimeoutOption(_ descriptor: Int32, name: Int32, timeout: Duration?) {
        let nanoseconds = timeout.map { max($0.wireNanoseconds, 1_000) } ?? 0
        var value = timeval(tv_sec: Int(nanoseconds / 1_000_000_000), tv_usec: Int(nanoseconds % 1_000_000_000 / 1_000))
        _ = setsockopt(descriptor, SOL_SOCKET, name, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    static func setNonBlocking(_ descriptor: Int32, _ enabled: Bool) {
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, enabled ? flags | O_NONBLOCK : flags & ~O_NONBLOCK)
    }

    /// Waits until `descriptor` is ready for `events`; returns false when `timeout` passed first.
    /// A nil timeout waits without limit. EINTR restarts the wait with the time that is left.
    static func wait(_ descriptor: Int32, events: Int16, timeout: Duration?, address: String) throws -> Bool {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let milliseconds = deadline.map { ($0 - ContinuousClock.now).pollMilliseconds } ?? -1
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return true }
            if ready == 0 {
                if let deadline, ContinuousClock.now < deadline { continue }
                return false
            }
            if errno == EINTR { continue }
            throw WireError.socketFailed(operation: "poll on", address: address, errno: errno)
        }
    }

    /// Formats a socket address as numeric `host:port`, with IPv6 hosts in brackets.
    static func describe(_ storage: sockaddr_storage, length: socklen_t) -> WireAddress {
        var storage = storage
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let status = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                getnameinfo(
                    address, length, &host, socklen_t(host.count), &service, socklen_t(service.count),
                    NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard status == 0 else { return WireAddress(host: "unknown", port: 0) }
        let hostText = host.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }  // !-safe: array not empty
        let serviceText = service.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }  // !-safe: same
        return WireAddress(host: hostText, port: Int(serviceText) ?? 0)
    }

    static func localAddress(of descriptor: Int32) -> WireAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return status == 0 ? describe(storage, length: length) : WireAddress(host: "unknown", port: 0)
    }
}

/// One result of `getaddrinfo`, copied out of the resolver's list.
struct ResolvedAddress {
    var family: Int32
    var storage: sockaddr_storage
    var length: socklen_t

    func withSocketAddress<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
