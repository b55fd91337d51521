#if canImport(Glibc)
    import Glibc
#endif

/// Reads CLOCK_MONOTONIC, for measuring durations that wall-clock changes must not disturb.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point.
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    public static func seconds(since start: UInt64) -> Double {
        Double(now() &- start) / 1e9
    }
}
