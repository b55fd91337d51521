import Testing

@testable import ElideCluster

@Test func moduleNameMatches() {
    #expect(ElideClusterModule.name == "ElideCluster")
}
