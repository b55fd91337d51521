import ElideSupport

/// Chooses the clients that take part in a round.
public enum ClientSampler {
    /// Returns the participants of `round`, sorted ascending: `max(1, round(participation * clients))` distinct
    /// clients drawn uniformly from stream `round` of the seed, so each round's draw is independent of the others.
    public static func sample(clients: Int, participation: Double, round: Int, seed: UInt64) -> [Int] {
        precondition(clients >= 1, "sampling needs at least 1 client, got \(clients)")
        precondition(participation > 0 && participation <= 1, "participation must be in (0, 1], got \(participation)")
        let count = participantCount(clients: clients, participation: participation)
        guard count < clients else { return Array(0..<clients) }
        var generator = SeededGenerator(seed: seed).split(UInt64(round))
        var order = Array(0..<clients)
        for position in 0..<count {
            order.swapAt(position, position + generator.below(clients - position))
        }
        return order[0..<count].sorted()
    }

    /// Participants per round: `max(1, round(participation * clients))`.
    public static func participantCount(clients: Int, participation: Double) -> Int {
        min(clients, max(1, Int((participation * Double(clients)).rounded())))
    }
}
