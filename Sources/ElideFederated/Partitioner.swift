import ElideSupport

/// The scheme that splits a labelled data set over clients.
public enum PartitionScheme: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Per class, client shares drawn from Dirichlet(alpha): small alpha gives each client few classes.
    case dirichlet(alpha: Double)
    /// Samples sorted by label, cut into `clients * perClient` equal shards, dealt out by a seeded permutation,
    /// as in McMahan et al.'s pathological non-IID split.
    case shards(perClient: Int)

    public var description: String {
        switch self {
        case .dirichlet(let alpha): return "dirichlet(alpha=\(alpha))"
        case .shards(let perClient): return "shards(\(perClient) per client)"
        }
    }
}

/// Seeded, pure partitioning of sample indices over clients. Every function returns indices into the label
/// array it was given and depends only on its arguments.
public enum Partitioner {
    /// Dirichlet draws tried before giving up on giving every client `minimumPerClient` samples.
    public static let maxDirichletAttempts = 100

    /// Returns each client's sample indices, sorted ascending.
    ///
    /// - Parameters:
    ///   - labels: one class label per sample, in `0..<classCount`.
    ///   - minimumPerClient: fewest samples any client may get; the Dirichlet scheme redraws until it holds.
    public static func partition(
        labels: [Int], classCount: Int, clients: Int, scheme: PartitionScheme, seed: UInt64,
        minimumPerClient: Int = 2
    ) throws -> [[Int]] {
        guard clients >= 1 else {
            throw FederatedError.invalidSetting(name: "clients", value: "\(clients)", expected: "at least 1")
        }
        guard labels.count >= clients * minimumPerClient else {
            throw FederatedError.partitionFailed(
                "\(labels.count) samples cannot give \(clients) clients \(minimumPerClient) samples each; "
                    + "use fewer clients or more samples per client")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= classCount }) {
            throw FederatedError.partitionFailed("label \(bad) is outside 0..<\(classCount)")
        }
        switch scheme {
        case .dirichlet(let alpha):
            guard alpha > 0, alpha.isFinite else {
                throw FederatedError.invalidSetting(name: "alpha", value: "\(alpha)", expected: "a number > 0")
            }
            return try dirichlet(
                labels: labels, classCount: classCount, clients: clients, alpha: alpha, seed: seed,
                minimumPerClient: minimumPerClient)
        case .shards(let perClient):
            let shardCount = clients * perClient
            guard perClient >= 1, labels.count >= shardCount else {
                throw FederatedError.invalidSetting(
                    name: "shards-per-client", value: "\(perClient)",
                    expected:
                        "at least 1, with at most \(labels.count / clients) per client for \(labels.count) samples")
            }
            return shards(labels: labels, clients: clients, perClient: perClient, seed: seed)
        }
    }

    /// Splits each class over clients by Dirichlet(alpha) shares, redrawing (with the next stream of the seed)
    /// until every client has `minimumPerClient` samples.
    static func dirichlet(
        labels: [Int], classCount: Int, clients: Int, alpha: Double, seed: UInt64, minimumPerClient: Int
    ) throws -> [[Int]] {
        var byClass = [[Int]](repeating: [], count: classCount)
        for (index, label) in labels.enumerated() { byClass[label].append(index) }

        var smallest = 0
        for attempt in 0..<maxDirichletAttempts {
            var generator = SeededGenerator(seed: seed).split(UInt64(attempt))
            var assigned = [[Int]](repeating: [], count: clients)
            for members in byClass where !members.isEmpty {
                var shuffled = members
                shuffled.seededShuffle(using: &generator)
                let shares = GammaSampler.symmetricDirichlet(alpha: alpha, dimension: clients, using: &generator)
                var cumulative = 0.0
                var start = 0
                for client in 0..<clients {
                    cumulative += shares[client]
                    let end =
                        client == clients - 1
                        ? shuffled.count : min(shuffled.count, Int((cumulative * Double(shuffled.count)).rounded()))
                    if end > start { assigned[client] += shuffled[start..<end] }
                    start = max(start, end)
                }
            }
            smallest = assigned.map(\.count).min() ?? 0
            if smallest >= minimumPerClient { return assigned.map { $0.sorted() } }
        }
        throw FederatedError.partitionFailed(
            "after \(maxDirichletAttempts) Dirichlet(\(alpha)) draws some client still had \(smallest) samples, "
                + "fewer than \(minimumPerClient); raise --alpha or the samples per client, or use fewer clients")
    }

    static func shards(labels: [Int], clients: Int, perClient: Int, seed: UInt64) -> [[Int]] {
        let sorted = labels.indices.sorted { (labels[$0], $0) < (labels[$1], $1) }
        let shardCount = clients * perClient
        var order = Array(0..<shardCount)
        var generator = SeededGenerator(seed: seed)
        order.seededShuffle(using: &generator)
        return (0..<clients).map { client in
            var members: [Int] = []
            for shard in order[client * perClient..<(client + 1) * perClient] {
                let start = shard * sorted.count / shardCount
                let end = (shard + 1) * sorted.count / shardCount
                members += sorted[start..<end]
            }
            return members.sorted()
        }
    }

    /// Returns `take` indices of `0..<count`, chosen uniformly by the seed and sorted ascending.
    public static func subsample(count: Int, take: Int, seed: UInt64) -> [Int] {
        guard take < count else { return Array(0..<count) }
        var indices = Array(0..<count)
        var generator = SeededGenerator(seed: seed)
        // A partial Fisher-Yates shuffle: the first `take` positions end up a uniform sample.
        for position in 0..<take {
            let other = position + generator.below(count - position)
            indices.swapAt(position, other)
        }
        return indices[0..<take].sorted()
    }

    /// Splits one client's indices into train and test sets: a seeded shuffle, then the first
    /// `round(testFraction * count)` go to test. With 2 or more samples each side gets at least 1.
    public static func split(
        _ indices: [Int], testFraction: Double, seed: UInt64
    ) -> (train: [Int], test: [Int]) {
        var shuffled = indices
        var generator = SeededGenerator(seed: seed)
        shuffled.seededShuffle(using: &generator)
        var testCount = Int((testFraction * Double(indices.count)).rounded())
        if indices.count >= 2 { testCount = min(max(testCount, 1), indices.count - 1) }
        return (Array(shuffled[testCount...]).sorted(), Array(shuffled[..<testCount]).sorted())
    }
}
