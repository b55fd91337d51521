import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A POSIX thread running one closure, for blocking socket loops.
///
/// Blocking calls inside Swift concurrency tasks stall the cooperative pool, which has one thread per core,
/// so accept loops, readers and heartbeat senders run on threads of their own. A thread that is never joined
/// is detached when its `OSThread` is deinitialized, so its resources are freed when it ends.
public final class OSThread: Sendable {
    public let name: String
    private let thread: pthread_t
    private let joined = Atomic<Bool>(false)

    private init(thread: pthread_t, name: String) {
        self.thread = thread
        self.name = name
    }

    deinit {
        if !joined.load(ordering: .acquiring) {
            _ = pthread_detach(thread)
        }
    }

    /// Starts `body` on a new thread; `name` appears in error messages.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) -> OSThread {
        let box = Unmanaged.passRetained(ThreadBody(body: body))
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { argument in
                let box = Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue()  // !-safe: passed below
                box.body()
                return nil
            }, box.toOpaque())
        // Without the thread the caller's loop cannot run, so a failure ends the process with the reason.
        precondition(status == 0, "pthread_create for thread '\(name)' failed: \(String(cString: strerror(status)))")
        return OSThread(thread: thread, name: name)
    }

    /// Waits for the thread to finish; later calls return at once.
    public func join() {
        guard !joined.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = pthread_join(thread, nil)
    }
}

private final class ThreadBody: Sendable {
    let body: @Sendable () -> Void

    init(body: @escaping @Sendable () -> Void) {
        self.body = body
    }
}
