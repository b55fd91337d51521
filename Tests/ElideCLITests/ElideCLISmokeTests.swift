import Testing

@testable import ElideSupport

@Test func versionIsSemantic() {
    #expect(ElideVersion.string.split(separator: ".").count == 3)
}
