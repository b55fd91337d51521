#if canImport(Glibc)
    import Glibc
#endif

/// Failures of the wire layer: sockets, framing and message decoding.
///
/// After any receive error other than `timedOut` with no byte of the next frame read, the position in the
/// byte stream is lost and the connection must be closed.
public enum WireError: Error, Equatable, CustomStringConvertible {
    /// The peer closed the connection between two frames: the normal end of a conversation.
    case connectionClosed(peer: String)
    /// The peer closed the connection in the middle of a frame.
    case truncatedFrame(peer: String, expectedBytes: Int, receivedBytes: Int)
    /// A frame's length prefix, or a frame about to be sent, is above the configured maximum.
    case frameTooLarge(peer: String, length: Int, maximum: Int, outgoing: Bool)
    /// The frame's bytes are not a valid `Envelope`.
    case decodeFailed(peer: String, length: Int)
    /// The frame decoded, but a field contains a value this version cannot use.
    case invalidMessage(String)
    /// No data arrived (or could be sent) within the timeout.
    case timedOut(peer: String, operation: String, timeout: Duration)
    /// A socket call failed; `errno` is the C error number.
    case socketFailed(operation: String, address: String, errno: Int32)
    /// A `HOST:PORT` string or host name could not be used.
    case invalidAddress(String, reason: String)
    /// The connection or listener was closed by this process.
    case closedLocally(address: String)

    public var description: String {
        switch self {
        case .connectionClosed(let peer):
            return "connection closed by \(peer)"
        case .truncatedFrame(let peer, let expected, let received):
            return "connection to \(peer) closed in the middle of a frame: received \(received) of \(expected) bytes; "
                + "the peer crashed or is not an Elide peer"
        case .frameTooLarge(let peer, let length, let maximum, let outgoing):
            if outgoing {
                return "frame of \(length) bytes for \(peer) is above the maximum of \(maximum) bytes; "
                    + "send large data as tensor or artifact chunks"
            }
            return "frame length \(length) from \(peer) is above the maximum of \(maximum) bytes; "
                + "the peer is not an Elide peer or uses a larger maximum frame size"
        case .decodeFailed(let peer, let length):
            return "frame of \(length) bytes from \(peer) is not a valid Elide envelope; "
                + "the peer is not an Elide peer or runs an incompatible version"
        case .invalidMessage(let reason):
            return "invalid message: \(reason)"
        case .timedOut(let peer, let operation, let timeout):
            return "\(operation) with \(peer) timed out after \(timeout.secondsText)"
        case .socketFailed(let operation, let address, let code):
            return "\(operation) \(address) failed: \(WireError.errorText(code)) (errno \(code))"
        case .invalidAddress(let address, let reason):
            return "invalid address '\(address)': \(reason)"
        case .closedLocally(let address):
            return "connection or listener \(address) was already closed by this process"
        }
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

extension Duration {
    /// The duration in whole nanoseconds, clamped to the range of `Int64`.
    var wireNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, sumOverflow) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if sumOverflow { return seconds < 0 ? .min : .max }
        return sum
    }

    /// Whole milliseconds, clamped to `Int32` and at least 0, as `poll` takes them.
    var pollMilliseconds: Int32 {
        let milliseconds = (wireNanoseconds + 999_999) / 1_000_000
        return Int32(clamping: max(0, milliseconds))
    }

    /// For messages: "2.5 s".
    var secondsText: String {
        let nanoseconds = Double(wireNanoseconds)
        let seconds = nanoseconds / 1e9
        return seconds >= 10 || seconds == seconds.rounded() ? "\(Int(seconds.rounded())) s" : "\(seconds) s"
    }
}
