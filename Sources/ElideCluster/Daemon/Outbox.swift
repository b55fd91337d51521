import ElideSupport
import ElideWire

/// Messages queued for one peer and sent in order by a writer thread of their own, so the coordinator's
/// state lock is never held during a socket write to a worker.
final class Outbox: Sendable {
    private struct State {
        var queue: [WireMessage] = []
        var head = 0
        var isClosed = false
    }

    let connection: FramedConnection
    private let state = Locked(State())
    private let writer: Locked<OSThread?> = Locked(nil)

    /// Starts the writer thread; when a send fails it closes the connection, which ends the peer's reader.
    init(connection: FramedConnection, name: String, logger: Logger) {
        self.connection = connection
        let thread = OSThread.start(name: "outbox-\(name)") { [state, connection] in
            while true {
                var next: WireMessage?
                _ = state.wait(until: { $0.isClosed || $0.head < $0.queue.count }, deadline: nil)
                let closed = state.withLock { state -> Bool in
                    if state.head < state.queue.count {
                        next = state.queue[state.head]
                        state.head += 1
                        if state.head > 1024, state.head * 2 > state.queue.count {
                            state.queue.removeFirst(state.head)
                            state.head = 0
                        }
                    }
                    return state.isClosed && next == nil
                }
                if closed { return }
                guard let message = next else { continue }
                do {
                    try connection.send(message)
                } catch {
                    logger.debug("send failed, closing the connection", ("peer", name), ("error", "\(error)"))
                    connection.close()
                    state.withLock { $0.isClosed = true }
                    return
                }
            }
        }
        writer.withLock { $0 = thread }
    }

    /// Queues a message; messages queued after `close()` are dropped.
    func send(_ message: WireMessage) {
        state.withLock { state in
            guard !state.isClosed else { return }
            state.queue.append(message)
        }
        state.broadcast()
    }

    /// Lets the writer send what is queued, then stop; messages queued later are dropped.
    func close(waitForWriter: Bool = false) {
        state.withLock { $0.isClosed = true }
        state.broadcast()
        if waitForWriter { writer.withLock { $0 }?.join() }
    }
}
