import Testing

@testable import ElideFederated

struct ClientSamplerTests {
    @Test func sampleHasExpectedSize() {
        for (clients, participation, expected) in [
            (20, 0.5, 10), (20, 0.1, 2), (3, 0.01, 1), (7, 1.0, 7), (10, 0.25, 3),
        ] {
            let chosen = ClientSampler.sample(clients: clients, participation: participation, round: 0, seed: 1)
            #expect(chosen.count == expected, "\(clients) clients at \(participation)")
            #expect(Set(chosen).count == chosen.count)
            #expect(chosen == chosen.sorted())
            #expect(chosen.allSatisfy { (0..<clients).contains($0) })
        }
    }

    @Test func sampleDependsOnSeedAndRound() {
        let first = ClientSampler.sample(clients: 20, participation: 0.5, round: 3, seed: 7)
        #expect(first == ClientSampler.sample(clients: 20, participation: 0.5, round: 3, seed: 7))
        let rounds = (0..<10).map { ClientSampler.sample(clients: 20, participation: 0.5, round: $0, seed: 7) }
        #expect(Set(rounds).count > 5, "ten rounds drew only \(Set(rounds).count) distinct samples")
        #expect(first != ClientSampler.sample(clients: 20, participation: 0.5, round: 3, seed: 8))
    }

    @Test func everyClientTakesPartAtItsRate() {
        var counts = [Int](repeating: 0, count: 20)
        for round in 0..<2000 {
            for client in ClientSampler.sample(clients: 20, participation: 0.3, round: round, seed: 5) {
                counts[client] += 1
            }
        }
        // Each client is chosen with probability 6/20 per round: 600 of 2000 rounds, standard deviation about 20.
        for (client, count) in counts.enumerated() {
            #expect(abs(count - 600) < 100, "client \(client) took part \(count) times")
        }
    }
}
