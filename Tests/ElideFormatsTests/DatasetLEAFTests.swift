import Testing

@testable import ElideFormats

/// LEAF FEMNIST JSON files written by the tests.
@Suite struct DatasetLEAFTests {
    /// Formats an image of 784 LEAF values: white background (1.0) with one dark pixel at `ink`.
    static func image(ink: Int, value: String = "0.0") -> String {
        "[" + (0..<784).map { $0 == ink ? value : "1.0" }.joined(separator: ", ") + "]"
    }

    static let twoUsers = """
        {"users": ["f0001_41", "f\\u00e9\\"2"], "num_samples": [2, 1],
         "hierarchies": [], "user_data": {
           "f\\u00e9\\"2": {"y": [61], "x": [\(image(ink: 5, value: "0.5"))]},
           "f0001_41": {"x": [\(image(ink: 0)), \(image(ink: 783, value: "2.5e-1"))], "y": [3, 10]}}}
        """

    @Test func usersLoadInListOrderWithMNISTPolarity() throws {
        let users = try LEAFDataset.parse(
            bytes: Array(Self.twoUsers.utf8), path: nil, classCount: 62, invert: true)
        #expect(users.map(\.user) == ["f0001_41", "fé\"2"])
        let first = users[0].data
        #expect(shape(first.count, first.height, first.width, first.classCount) == [2, 28, 28, 62])
        #expect(first.labels == [3, 10])
        #expect(first.image(0).first == 255)
        #expect(first.image(0).dropFirst().allSatisfy { $0 == 0 })
        #expect(first.image(1).last == 191)  // round((1 - 0.25) × 255)
        #expect(users[1].data.labels == [61])
        #expect(users[1].data.image(0)[5] == 128)  // round(0.5 × 255) = 127.5 rounds away from zero

        let raw = try LEAFDataset.parse(bytes: Array(Self.twoUsers.utf8), path: nil, classCount: 62, invert: false)
        #expect(raw[0].data.image(0).first == 0)
        #expect(raw[0].data.image(0).last == 255)
    }

    @Test func loadReadsAFile() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write(Array(Self.twoUsers.utf8), named: "all_data_0.json")
        let users = try LEAFDataset.load(path: path)
        #expect(users.count == 2)
        #expect(users.first?.data.count == 2)
    }

    func parseError(_ text: String) throws -> DatasetError {
        try #require(throws: DatasetError.self) {
            try LEAFDataset.parse(bytes: Array(text.utf8), path: "femnist.json", classCount: 62, invert: true)
        }
    }

    @Test func malformedFilesFailWithTheFieldAndOffset() throws {
        let counts = try parseError(Self.twoUsers.replacingOccurrences(of: "[2, 1]", with: "[2, 2]"))
        #expect(counts.description.contains("has 2 samples, \"user_data\" contains 1"))

        let label = try parseError(Self.twoUsers.replacingOccurrences(of: "[3, 10]", with: "[3, 62]"))
        #expect(label.description.contains("label 62 of user \"f0001_41\" is outside 0..<62"))

        let syntax = try parseError("{\"users\": [\"a\" \"b\"]}")
        #expect(syntax.kind == .invalidJSON)
        #expect(syntax.description.contains("femnist.json"))
        #expect(syntax.description.contains("byte 15"))
        #expect(syntax.description.contains("expected ']' after an element of \"users\", found '\"'"))

        let ragged = try parseError(
            "{\"user_data\": {\"u\": {\"x\": [\(Self.image(ink: 0)), [1.0, 0.0]], \"y\": [1, 2]}}}")
        #expect(ragged.description.contains("image 1 of user \"u\" has 2 pixels, image 0 has 784"))

        let missing = try parseError("{\"users\": [\"u\"], \"user_data\": {}}")
        #expect(missing.description.contains("user \"u\" is listed in \"users\" but has no entry"))

        let trailing = try parseError("{\"user_data\": {}} x")
        #expect(trailing.description.contains("after the top-level value"))
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
