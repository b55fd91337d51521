import ElideProto
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Frames `WireMessage`s over a `TCPConnection`: each frame is a 4-byte big-endian length and one `Envelope`.
///
/// `send` may be called from several threads at once, because each frame is written whole under a lock.
/// `receive` is meant for one reader thread and serializes concurrent callers. Both block their OS thread.
/// After a receive error other than an idle `timedOut`, later receives throw the same error. The position in
/// the stream is lost then, so close the connection.
public final class FramedConnection: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Maximum envelope size of a frame in either direction, in bytes; default 64 MiB. An incoming length
        /// above it is rejected before any buffer is allocated.
        public var maxFrameBytes: Int
        /// Maximum wait for more bytes once a frame has started arriving; default 30 s. nil waits forever,
        /// which lets a peer that stops mid-frame hold the reading thread.
        public var frameTimeout: Duration?
        /// Maximum time a send may block on a peer that does not read; default 30 s. nil waits forever.
        public var sendTimeout: Duration?

        public init(
            maxFrameBytes: Int = WireProtocol.defaultMaxFrameBytes, frameTimeout: Duration? = .seconds(30),
            sendTimeout: Duration? = .seconds(30)
        ) {
            precondition(maxFrameBytes > 0, "maxFrameBytes must be positive, got \(maxFrameBytes)")
            self.maxFrameBytes = maxFrameBytes
            self.frameTimeout = frameTimeout
            self.sendTimeout = sendTimeout
        }
    }

    /// Reading state, guarded by `receiveState`: the read buffer and unpack arena reused across frames, and
    /// the error that broke the stream, if any. Bytes read ahead of the current frame wait in
    /// `buffer.storage[start..<end]`.
    private struct ReceiveState {
        var buffer = ReusableBuffer()
        var start = 0
        var end = 0
        var arena = UnpackArena()
        var failure: WireError?

        var available: Int { end - start }
    }

    /// Bytes requested from the socket per read when frames are small, so that one `recv` can return several
    /// frames.
    private static let readAheadBytes = 64 << 10

    public let connection: TCPConnection
    public let settings: Settings
    private let receiveState = Mutex(ReceiveState())
    /// The buffer frames are packed (or, for large ones, gathered) into, reused across sends; the lock also
    /// keeps frames whole.
    private let sendState = Mutex(ReusableBuffer())
    private let sentBytes = Atomic<Int>(0)
    private let receivedBytes = Atomic<Int>(0)

    public init(_ connection: TCPConnection, settings: Settings = Settings()) {
        self.connection = connection
        self.settings = settings
        connection.setSendTimeout(settings.sendTimeout)
    }

    deinit {
        receiveState.withLock { $0.buffer.deallocate() }
        sendState.withLock { $0.deallocate() }
    }

    /// Connects to `address` and frames the connection.
    public static func connect(
        to address: WireAddress, timeout: Duration = .seconds(5), settings: Settings = Settings()
    ) throws -> FramedConnection {
        FramedConnection(try TCPConnection.connect(to: address, timeout: timeout), settings: settings)
    }

    public var peerAddress: WireAddress { connection.peerAddress }

    /// Bytes written to the socket so far, length prefixes included.
    public var bytesSent: Int { sentBytes.load(ordering: .relaxed) }

    /// Bytes read from the socket so far, length prefixes included.
    public var bytesReceived: Int { receivedBytes.load(ordering: .relaxed) }

    // MARK: - Sending

    /// Encodes and sends one message.
    ///
    /// - Throws: `WireError.frameTooLarge` (nothing is sent) when the encoded message is above
    ///   `settings.maxFrameBytes`; socket and timeout errors from `TCPConnection.write`. After a socket or
    ///   timeout error the peer may hold part of a frame, so close the connection.
    public func send(_ message: WireMessage) throws {
        try send(message, bulk: nil)
    }

    /// Sends `message` with `bulk` in place of its large `bytes` field, packed straight from the caller's memory.
    func send(_ message: WireMessage, bulk: UnsafeRawBufferPointer?) throws {
        let sent = try sendState.withLock { buffer in
            defer { buffer.trim() }
            return try FrameWriter.write(
                message, bulk: bulk, maxFrameBytes: settings.maxFrameBytes, buffer: &buffer, to: connection)
        }
        sentBytes.add(sent, ordering: .relaxed)
    }

    /// Sends a frame that already carries its length prefix, as `WireCodec.encodeFrame` returns it.
    ///
    /// - Throws: `WireError.invalidMessage` when the prefix does not match the bytes that follow it.
    public func sendFrame(_ frame: [UInt8]) throws {
        let length = frame.count - WireProtocol.framePrefixBytes
        let declared = frame.count >= WireProtocol.framePrefixBytes ? frame.withUnsafeBytes(FrameHeader.read) : -1
        guard declared == length else {
            throw WireError.invalidMessage(
                "the frame's length prefix is \(declared) but \(max(length, 0)) bytes follow it")
        }
        guard length <= settings.maxFrameBytes else {
            throw WireError.frameTooLarge(
                peer: connection.peerName, length: length, maximum: settings.maxFrameBytes, outgoing: true)
        }
        try sendState.withLock { _ in try connection.write(frame) }
        sentBytes.add(frame.count, ordering: .relaxed)
    }

    // MARK: - Receiving

    /// Waits for the next message.
    ///
    /// - Parameter timeout: longest wait for the next frame to start; nil waits until one arrives or the
    ///   connection ends. Once a frame has started, `settings.frameTimeout` applies to the rest of it.
    /// - Throws: `WireError.connectionClosed` at a clean end of stream, `.truncatedFrame`, `.frameTooLarge`,
    ///   `.decodeFailed`, `.invalidMessage`, `.timedOut`, `.socketFailed` or `.closedLocally`.
    public func receive(timeout: Duration? = nil) throws -> WireMessage {
        try withReceivedEnvelope(timeout: timeout) { try WireCodec.message(from: $0.pointee) }
    }

    /// Waits for the next frame and returns its envelope bytes undecoded.
    public func receiveFrame(timeout: Duration? = nil) throws -> [UInt8] {
        try receiveState.withLock { state in
            let frame = try readFrame(into: &state, timeout: timeout)
            return Array(UnsafeRawBufferPointer(rebasing: state.buffer.storage[frame]))
        }
    }

    /// Receives the next frame, unpacks it and calls `body` with the protobuf-c tree, which lives in the
    /// connection's unpack arena until `body` returns.
    func withReceivedEnvelope<R>(
        timeout: Duration?, _ body: (UnsafePointer<Elide__V1__Envelope>) throws -> R
    ) throws -> R {
        try receiveState.withLock { state in
            let frame = try readFrame(into: &state, timeout: timeout)
            let bytes = UnsafeRawBufferPointer(rebasing: state.buffer.storage[frame])
            return try WireCodec.withUnpackedEnvelope(bytes, peer: connection.peerName, arena: state.arena, body)
        }
    }

    /// Reads one frame and returns where its envelope bytes lie in `state.buffer`; they stay there until the
    /// next read.
    private func readFrame(into state: inout ReceiveState, timeout: Duration?) throws -> Range<Int> {
        if let failure = state.failure { throw failure }
        do {
            return try readFrameUnchecked(into: &state, timeout: timeout)
        } catch let error as WireError {
            state.failure = error
            throw error
        } catch IdleTimeout.expired(let error) {
            // No byte of the next frame has arrived, so the stream is intact and the caller may wait again.
            throw error
        }
    }

    /// Marks a timeout that struck before the first byte of a frame.
    private enum IdleTimeout: Error {
        case expired(WireError)
    }

    private func readFrameUnchecked(into state: inout ReceiveState, timeout: Duration?) throws -> Range<Int> {
        let peer = connection.peerName
        let prefixBytes = WireProtocol.framePrefixBytes
        if state.available == 0 {
            // Nothing is pending, so the buffer can start over (and shrink after a large frame).
            state.start = 0
            state.end = 0
            state.buffer.trim()
        }

        // Length prefix: the first byte waits up to `timeout`, the rest up to `frameTimeout`.
        try makeRoom(in: &state, frameBytes: prefixBytes)
        try fill(&state, until: prefixBytes, idleTimeout: timeout)
        let length = FrameHeader.read(UnsafeRawBufferPointer(rebasing: state.buffer.storage[state.start...]))

        // The limit is checked before the buffer grows, so a hostile length allocates nothing.
        guard length <= settings.maxFrameBytes else {
            throw WireError.frameTooLarge(peer: peer, length: length, maximum: settings.maxFrameBytes, outgoing: false)
        }
        try makeRoom(in: &state, frameBytes: prefixBytes + length)
        try fill(&state, until: prefixBytes + length, idleTimeout: nil)

        let frame = (state.start + prefixBytes)..<(state.start + prefixBytes + length)
        state.start = frame.upperBound
        return frame
    }

    /// Makes sure `state.buffer` can hold a frame of `frameBytes` from `state.start`, compacting or growing it.
    private func makeRoom(in state: inout ReceiveState, frameBytes: Int) throws {
        let needed = max(frameBytes, Self.readAheadBytes)
        guard state.buffer.storage.count - state.start < needed else { return }
        state.buffer.reserve(max(needed, state.available), keeping: state.start..<state.end)
        state.end = state.available
        state.start = 0
    }

    /// Reads until at least `count` bytes of the current frame are buffered.
    ///
    /// - Parameter idleTimeout: wait for the first byte when nothing of the frame has arrived yet; later
    ///   reads wait `settings.frameTimeout`.
    private func fill(_ state: inout ReceiveState, until count: Int, idleTimeout: Duration?) throws {
        let peer = connection.peerName
        while state.available < count {
            let idle = state.available == 0 && count == WireProtocol.framePrefixBytes
            let space = UnsafeMutableRawBufferPointer(rebasing: state.buffer.storage[state.end...])
            let received: Int
            do {
                received = try connection.read(into: space, timeout: idle ? idleTimeout : settings.frameTimeout)
            } catch let error as WireError {
                if idle, case .timedOut = error { throw IdleTimeout.expired(error) }
                throw error
            }
            if received == 0 {
                if idle { throw WireError.connectionClosed(peer: peer) }
                throw WireError.truncatedFrame(peer: peer, expectedBytes: count, receivedBytes: state.available)
            }
            state.end += received
            receivedBytes.add(received, ordering: .relaxed)
        }
    }

    // MARK: - Closing

    /// Shuts the connection down and wakes threads blocked in `send` or `receive`.
    public func close() {
        connection.close()
    }
}
