import Testing

@testable import ElideWire

@Test func moduleNameMatches() {
    #expect(ElideWireModule.name == "ElideWire")
}
