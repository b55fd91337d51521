import ElideFormats

/// The plan that turns a data set into the clients' training and test sets: a seeded subsample of the pool,
/// a partition over clients and a train/test split inside each client, so every client is tested on its own
/// distribution.
public struct ClientDataPlan: Codable, Sendable, Equatable {
    public var clients: Int
    public var scheme: PartitionScheme
    /// Pool size is `clients * samplesPerClient`, drawn from the data set before partitioning; nil uses every
    /// sample. Dirichlet partitions give clients unequal shares of the pool, so this is a mean, not a cap.
    public var samplesPerClient: Int?
    /// Fraction of each client's samples held out for its test set. Default 0.2.
    public var testFraction: Double
    public var seeds: FederatedSeeds

    public init(
        clients: Int, scheme: PartitionScheme, samplesPerClient: Int?, testFraction: Double = 0.2,
        seeds: FederatedSeeds
    ) {
        self.clients = clients
        self.scheme = scheme
        self.samplesPerClient = samplesPerClient
        self.testFraction = testFraction
        self.seeds = seeds
    }

    public func validate() throws {
        guard testFraction > 0, testFraction < 1 else {
            throw FederatedError.invalidSetting(
                name: "test-fraction", value: "\(testFraction)", expected: "a fraction in (0, 1)")
        }
        if let samplesPerClient, samplesPerClient < 4 {
            throw FederatedError.invalidSetting(
                name: "samples-per-client", value: "\(samplesPerClient)", expected: "at least 4")
        }
    }

    /// Returns each client's training and test set, in client order.
    public func split(_ data: LabeledImageSet) throws -> [(train: LabeledImageSet, test: LabeledImageSet)] {
        try validate()
        let take = samplesPerClient.map { $0 * clients } ?? data.count
        let pool = Partitioner.subsample(count: data.count, take: take, seed: seeds.seed(.subsample))
        let poolLabels = pool.map { data.labels[$0] }
        let parts = try Partitioner.partition(
            labels: poolLabels, classCount: data.classCount, clients: clients, scheme: scheme,
            seed: seeds.seed(.partition))
        return parts.enumerated().map { client, members in
            let (train, test) = Partitioner.split(
                members.map { pool[$0] }, testFraction: testFraction,
                seed: seeds.seed(.trainTestSplit, client: client))
            return (data.subset(train), data.subset(test))
        }
    }
}
