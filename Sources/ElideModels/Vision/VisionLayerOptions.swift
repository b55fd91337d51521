/// Changes to one transformer layer call, for token reduction and attention pruning methods.
public struct VisionLayerOptions: Sendable {
    /// Puts the CLS row's attention over all rows, per head and after softmax, in the trace.
    public var returnCLSAttention = false
    /// Puts the full `rows × rows` attention of every head, after softmax, in the trace.
    public var returnAllAttention = false
    /// Side `w` of a neighbourhood window (odd, at least 1): a patch row attends to a patch row only when both
    /// their grid row and column differ by at most `(w − 1) / 2`, taken from `VisionTokens.positions`. Rows
    /// with position -1 (CLS, fused tokens) attend and are attended without restriction. nil means full
    /// attention.
    public var neighbourWindow: Int? = nil
    /// Heads whose attention output is zero for every row. Their attention is not computed, so traces hold
    /// zeros for them.
    public var prunedHeads: Set<Int> = []
    /// Updates only row 0 (CLS): its query attends to the keys and values of all rows, and the output
    /// projection and MLP run for it alone. The other rows pass through unchanged.
    public var updateOnlyCLS = false

    public init() {}
}

/// Attention maps and the multiply-add count of one layer call.
public struct VisionLayerTrace: Sendable {
    /// CLS attention, `heads × rows`, when `returnCLSAttention` was set.
    public var clsAttention: [Float]?
    /// Full attention, `heads × rows × rows` (query row, then key row), when `returnAllAttention` was set.
    /// With `updateOnlyCLS` only the query row 0 is computed and the other query rows are zero.
    public var attention: [Float]?
    /// Multiply-adds of the call's matrix products and attention (norms, softmax and GELU not counted).
    public var flops: Int

    public init(clsAttention: [Float]? = nil, attention: [Float]? = nil, flops: Int = 0) {
        self.clsAttention = clsAttention
        self.attention = attention
        self.flops = flops
    }
}
