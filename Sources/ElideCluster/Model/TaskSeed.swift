import ElideSupport

/// Derives a task's random seed from its job's seed and its index, so a task draws the same numbers on any
/// worker, in any attempt and after a coordinator restart.
public enum TaskSeed {
    /// Returns the first value of stream `taskIndex` of the job's `SeededGenerator`.
    public static func derive(jobSeed: UInt64, taskIndex: UInt64) -> UInt64 {
        var generator = SeededGenerator(seed: jobSeed).split(taskIndex)
        return generator.next()
    }

    /// SplitMix64's output function: a bijection on 64-bit values with good avalanche.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
