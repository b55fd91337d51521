/// A client's test result: correct predictions out of its test samples.
public struct ClientAccuracy: Sendable, Equatable, Codable {
    public var correct: Int
    public var count: Int

    public init(correct: Int, count: Int) {
        self.correct = correct
        self.count = count
    }

    /// correct / count, or 0 for a client without test samples.
    public var accuracy: Double { count > 0 ? Double(correct) / Double(count) : 0 }
}

/// The measurements of one round, over all clients.
public struct RoundMetrics: Sendable, Equatable, Codable {
    /// 1 for the first round; 0 for the state before any training.
    public var round: Int
    /// Unweighted mean of the clients' test accuracies: every client counts the same.
    public var meanAccuracy: Double
    /// Population standard deviation of the clients' test accuracies, the fairness measure.
    public var accuracyStandardDeviation: Double
    /// Mean accuracy of the worst 10% of clients (at least one client).
    public var worstTenPercentAccuracy: Double
    /// Bytes the clients sent to the server in this round.
    public var bytesUploaded: Int
    /// Bytes the server sent to the clients in this round.
    public var bytesDownloaded: Int
    /// Clients that trained in this round.
    public var participants: [Int]
    /// FedD2S only: the cut whose representations took part in this round.
    public var cut: Int?

    public init(
        round: Int, accuracies: [ClientAccuracy], bytesUploaded: Int, bytesDownloaded: Int, participants: [Int],
        cut: Int? = nil
    ) {
        let values = accuracies.map(\.accuracy)
        self.round = round
        self.meanAccuracy = RoundMetrics.mean(values)
        self.accuracyStandardDeviation = RoundMetrics.standardDeviation(values)
        self.worstTenPercentAccuracy = RoundMetrics.worstFractionMean(values, fraction: 0.1)
        self.bytesUploaded = bytesUploaded
        self.bytesDownloaded = bytesDownloaded
        self.participants = participants
        self.cut = cut
    }

    public var bytesCommunicated: Int { bytesUploaded + bytesDownloaded }

    static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    /// Population standard deviation (divides by n, not n - 1): the clients are the whole population.
    static func standardDeviation(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let center = mean(values)
        return (values.reduce(0) { $0 + ($1 - center) * ($1 - center) } / Double(values.count)).squareRoot()
    }

    /// Mean of the lowest `ceil(fraction * n)` values, at least one.
    static func worstFractionMean(_ values: [Double], fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let count = max(1, Int((fraction * Double(values.count)).rounded(.up)))
        return mean(Array(values.sorted().prefix(count)))
    }
}
