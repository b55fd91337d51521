import Testing

@testable import ElideTensor

@Test func moduleNameMatches() {
    #expect(ElideTensorModule.name == "ElideTensor")
}
