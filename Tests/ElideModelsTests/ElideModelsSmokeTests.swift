import Testing

@testable import ElideModels

@Test func moduleNameMatches() {
    #expect(ElideModelsModule.name == "ElideModels")
}
