import Testing

@testable import ElideFormats

@Test func moduleNameMatches() {
    #expect(ElideFormatsModule.name == "ElideFormats")
}
