import ElideSupport

/// The seeds of one federated run, each derived from the job seed and what it is for, so adding a use of
/// randomness in one place never shifts the numbers drawn in another.
public struct FederatedSeeds: Sendable, Equatable, Codable {
    /// The use of a seed. Its raw value selects a stream of the job seed.
    public enum Purpose: UInt64, Sendable {
        case partition = 1
        case subsample = 2
        case trainTestSplit = 3
        case modelInitialization = 4
        case clientSampling = 5
        case localTraining = 6
        case uploadSample = 7
        case distillation = 8
        case serverTraining = 9
        case serverHeadInitialization = 10
    }

    public let jobSeed: UInt64

    public init(jobSeed: UInt64) { self.jobSeed = jobSeed }

    /// Returns the seed for `purpose`, optionally narrowed to one round and one client.
    public func seed(_ purpose: Purpose, round: Int = 0, client: Int = 0) -> UInt64 {
        var generator = SeededGenerator(seed: jobSeed).split(purpose.rawValue).split(UInt64(round)).split(
            UInt64(client))
        return generator.next()
    }
}
