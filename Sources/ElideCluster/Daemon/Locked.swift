import Foundation

/// A value guarded by a condition lock: threads read and change it in `withLock`, and can wait for another
/// thread's change with `wait(until:deadline:)`.
final class Locked<Value>: @unchecked Sendable {
    // Every access to `value` happens while `condition` is locked.
    private var value: Value
    private let condition = NSCondition()

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        condition.lock()
        defer { condition.unlock() }
        return try body(&value)
    }

    /// Wakes every thread waiting in `wait(until:deadline:)`.
    func broadcast() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until `predicate` is true or `deadline` (monotonic) passes; returns whether it is true.
    func wait(until predicate: (Value) -> Bool, deadline: MonotonicInstant?) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !predicate(value) {
            guard let deadline else {
                condition.wait()
                continue
            }
            let remaining = deadline - MonotonicInstant.now()
            if remaining <= .zero { return false }
            _ = condition.wait(until: Date(timeIntervalSinceNow: min(remaining.seconds, 1)))
        }
        return true
    }
}
