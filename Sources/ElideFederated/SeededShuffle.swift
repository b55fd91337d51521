import ElideSupport

extension SeededGenerator {
    /// Returns a value in `0..<bound` from one draw, as the high word of `draw * bound` (Lemire's method
    /// without rejection; the bias is below bound / 2^64). Written out rather than calling the standard
    /// library's `random(in:using:)`, whose draw sequence is not part of its contract.
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "a random index needs a positive bound, got \(bound)")
        return Int(UInt64(bound).multipliedFullWidth(by: next()).high)
    }
}

extension Array {
    /// Fisher-Yates shuffle driven only by `generator`, so the order is the same in every build.
    mutating func seededShuffle(using generator: inout SeededGenerator) {
        guard count > 1 else { return }
        for position in stride(from: count - 1, to: 0, by: -1) {
            swapAt(position, generator.below(position + 1))
        }
    }
}
