/// A `HOST:PORT` endpoint as flags and config files write it: `127.0.0.1:7070`, `[::1]:7070`, `localhost:7070`.
public struct WireAddress: Sendable, Hashable, CustomStringConvertible {
    /// Host name or numeric address, without brackets.
    public var host: String
    /// Port 0 requests an ephemeral port from a listener.
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, with IPv6 addresses in brackets (`[::1]:7070`).
    ///
    /// - Throws: `WireError.invalidAddress` naming the text and what is wrong with it.
    public init(parsing text: String) throws {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw WireError.invalidAddress(text, reason: "expected [IPv6]:PORT, for example [::1]:7070")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw WireError.invalidAddress(text, reason: "expected HOST:PORT, for example 127.0.0.1:7070")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                throw WireError.invalidAddress(text, reason: "write IPv6 addresses in brackets, for example [::1]:7070")
            }
        }
        guard !host.isEmpty else {
            throw WireError.invalidAddress(text, reason: "the host is empty")
        }
        guard let port = Int(portText), (0...65_535).contains(port) else {
            throw WireError.invalidAddress(text, reason: "the port must be a number from 0 to 65535")
        }
        self.init(host: String(host), port: port)
    }

    public var description: String {
        // utf8.contains stays in the standard library; String.contains(_:) with a String argument goes
        // through Foundation's search, which costs microseconds on every log line and error.
        host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
