import Testing

@testable import ElideSearch

@Test func moduleNameMatches() {
    #expect(ElideSearchModule.name == "ElideSearch")
}
