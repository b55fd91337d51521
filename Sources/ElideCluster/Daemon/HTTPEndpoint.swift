import ElideSupport
import ElideWire

/// A minimal HTTP/1.1 server on a plain socket for `/metrics` and `/healthz`: one request per connection,
/// GET only, handled on the accepting thread because every response is small and quick to build.
final class HTTPEndpoint: Sendable {
    let listener: TCPListener
    private let thread: Locked<OSThread?> = Locked(nil)

    /// Serves on `listener` until `close()`; `respond` maps a path to a status code, content type and body.
    init(
        listener: TCPListener, logger: Logger,
        respond: @escaping @Sendable (String) -> (status: Int, contentType: String, body: String)
    ) {
        self.listener = listener
        let started = OSThread.start(name: "http") {
            while true {
                let connection: TCPConnection
                do {
                    connection = try listener.accept()
                } catch {
                    if !listener.isClosed { logger.warning("metrics accept failed", ("error", "\(error)")) }
                    return
                }
                HTTPEndpoint.serve(connection, logger: logger, respond: respond)
            }
        }
        thread.withLock { $0 = started }
    }

    func close() {
        listener.close()
        thread.withLock { $0 }?.join()
    }

    private static func serve(
        _ connection: TCPConnection, logger: Logger,
        respond: (String) -> (status: Int, contentType: String, body: String)
    ) {
        defer { connection.close() }
        guard let requestLine = readRequestLine(connection) else { return }
        let parts = requestLine.split(separator: " ")
        let response: (status: Int, contentType: String, body: String)
        if parts.count >= 2, parts[0] == "GET" {
            response = respond(String(parts[1].split(separator: "?").first ?? ""))
        } else {
            response = (405, "text/plain", "only GET is supported\n")
        }
        let reason = [200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"]
        let body = Array(response.body.utf8)
        let head =
            "HTTP/1.1 \(response.status) \(reason[response.status] ?? "Error")\r\n"
            + "Content-Type: \(response.contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        do {
            try connection.write(Array(head.utf8) + body)
        } catch {
            logger.debug("metrics response not sent", ("error", "\(error)"))
        }
    }

    /// Reads the request head (at most 8 KiB, 2 s) and returns its first line.
    private static func readRequestLine(_ connection: TCPConnection) -> String? {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while received.count < 8192 {
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { try connection.read(into: $0, timeout: .seconds(2)) }
            } catch {
                return nil
            }
            if count == 0 { break }
            received += buffer[0..<count]
            if received.count >= 4, received.suffix(4) == [13, 10, 13, 10] { break }
            if received.contains(10) { break }
        }
        let text = String(decoding: received, as: UTF8.self)
        return text.split(separator: "\r\n", maxSplits: 1).first.map(String.init)
    }
}
