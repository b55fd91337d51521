import ElideTensor

/// Arithmetic and memory choices of candidate evaluation. Every worker of a job must use the same
/// precision and teacher mode for their KL values to agree; the state storage changes them slightly.
public struct EvaluatorSettings: Sendable, Hashable {
    /// Activation precision of the dense pass and of every candidate; default `.f32`. Whole-sequence
    /// batches go through OpenBLAS then, which ran about twice as fast as `.q8`'s 8-bit products for
    /// SmolLM2 on a 2-core Zen 4 VM, and the logits carry no activation rounding noise.
    public var precision: ActivationPrecision
    /// Storage of the teacher distributions; default `.exact`.
    public var teacher: TeacherMode
    /// Element type of the cached dense hidden states; default `.f16`.
    public var stateStorage: StateStorage
    /// Most bytes the dense cache keeps (states plus teacher) before it evicts the least recently used
    /// sequence; default 4 GiB. The sequence in use is never evicted, so one sequence always fits.
    public var cacheBytes: Int
    /// Tokens per forward chunk; default 512.
    public var batchCapacity: Int

    public init(
        precision: ActivationPrecision = .f32, teacher: TeacherMode = .exact, stateStorage: StateStorage = .f16,
        cacheBytes: Int = 4 << 30, batchCapacity: Int = 512
    ) {
        self.precision = precision
        self.teacher = teacher
        self.stateStorage = stateStorage
        self.cacheBytes = cacheBytes
        self.batchCapacity = batchCapacity
    }

    /// Checks the values against a model's vocabulary; the error names the bad setting.
    public func validate(vocabularySize: Int) throws {
        if case .topK(let k) = teacher, k < 2 || k > vocabularySize {
            throw CalibrationError(
                "teacher top-k:\(k) is invalid for a vocabulary of \(vocabularySize) tokens; use 2 to \(vocabularySize)"
            )
        }
        guard cacheBytes >= 0 else {
            throw CalibrationError("the cache budget is \(cacheBytes) bytes; it must be 0 or more")
        }
        guard batchCapacity >= 1 else {
            throw CalibrationError("the batch capacity is \(batchCapacity) tokens; it must be at least 1")
        }
    }
}
