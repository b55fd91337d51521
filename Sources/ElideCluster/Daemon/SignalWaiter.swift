#if canImport(Glibc)
    import Glibc
#endif

/// Delivers SIGTERM and SIGINT to one thread that waits for them with `sigwait`, so no code runs inside an
/// asynchronous signal handler.
///
/// Call `blockTermination()` on the main thread before starting any other thread: new threads inherit the
/// blocked mask, so the signals stay pending until `waitForTermination()` takes them.
public enum SignalWaiter {
    public static func blockTermination() {
        var set = terminationSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Blocks until SIGTERM or SIGINT arrives; returns the signal number.
    public static func waitForTermination() -> Int32 {
        var set = terminationSet()
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }

    /// Sends SIGTERM to this process, waking `waitForTermination()`; used for shutdown requests over the wire.
    public static func requestTermination() {
        kill(getpid(), SIGTERM)
    }

    private static func terminationSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        return set
    }
}
