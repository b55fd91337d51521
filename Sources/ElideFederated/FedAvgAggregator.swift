/// FedAvg's server step: the sample-count weighted mean of the clients' shared parameters (McMahan et al.,
/// "Communication-Efficient Learning of Deep Networks from Decentralized Data", 2017).
public enum FedAvgAggregator {
    /// One client's trained parameters and the training samples behind them.
    public struct Update: Sendable, Equatable {
        public var client: Int
        public var parameters: [Float]
        public var sampleCount: Int

        public init(client: Int, parameters: [Float], sampleCount: Int) {
            self.client = client
            self.parameters = parameters
            self.sampleCount = sampleCount
        }
    }

    /// Returns sum_k (n_k / n) w_k. Updates are summed in ascending client order in Double, whatever order they
    /// came in, so the result is bit-identical however many workers produced them.
    public static func aggregate(_ updates: [Update]) throws -> [Float] {
        guard let width = updates.first?.parameters.count else {
            throw FederatedError.unexpectedResult("FedAvg needs at least one client update, got none")
        }
        if let odd = updates.first(where: { $0.parameters.count != width }) {
            throw FederatedError.unexpectedResult(
                "client \(odd.client) sent \(odd.parameters.count) parameters, others sent \(width)")
        }
        let total = updates.reduce(0) { $0 + $1.sampleCount }
        guard total > 0 else {
            throw FederatedError.unexpectedResult("the client updates cover 0 training samples")
        }
        var sum = [Double](repeating: 0, count: width)
        for update in updates.sorted(by: { $0.client < $1.client }) {
            let weight = Double(update.sampleCount) / Double(total)
            update.parameters.withUnsafeBufferPointer { values in
                for index in 0..<width { sum[index] += weight * Double(values[index]) }
            }
        }
        return sum.map { Float($0) }
    }
}
