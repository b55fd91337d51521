/// A cumulative histogram in Prometheus' layout: counts of observations at or below each bound.
public struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds in seconds, ascending; `+Inf` is implicit.
    public let bounds: [Double]
    public private(set) var counts: [Int]
    public private(set) var sum: Double = 0
    public private(set) var count = 0

    /// Default bounds for task latencies, from 5 ms to 5 minutes.
    public static let taskLatencyBounds: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
    ]

    public init(bounds: [Double] = LatencyHistogram.taskLatencyBounds) {
        precondition(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "histogram bounds must ascend")
        self.bounds = bounds
        self.counts = Array(repeating: 0, count: bounds.count)
    }

    public mutating func observe(_ seconds: Double) {
        for (index, bound) in bounds.enumerated() where seconds <= bound { counts[index] += 1 }
        sum += seconds
        count += 1
    }
}
