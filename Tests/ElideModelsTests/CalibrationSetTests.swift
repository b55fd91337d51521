import ElideEngine
import ElideFormats
import Foundation
import Testing

@testable import ElideModels

extension TestAssets {
    static var austenDirectory: String { home + "/text/austen" }
}

@Suite struct CalibrationSetTests {
    @Test func documentsAreCutIntoWholeSequences() throws {
        let set = try CalibrationSet(
            documents: [("a", Array(0..<10)), ("b", Array(100..<103)), ("c", Array(200..<208))], sequenceLength: 4)
        #expect(set.sequences == [[0, 1, 2, 3], [4, 5, 6, 7], [200, 201, 202, 203], [204, 205, 206, 207]])
        #expect(set.documents.map(\.sequenceIDs) == [0..<2, 2..<2, 2..<4])
        #expect(set.documents.map(\.tokenCount) == [10, 3, 8])
        #expect(set.tokenCount == 16)
        #expect(try set.tokens(of: 2, count: 3) == [200, 201, 202])
    }

    @Test func invalidInputsAreRejected() throws {
        #expect {
            try CalibrationSet(documents: [("short.txt", [1, 2, 3])], sequenceLength: 4)
        } throws: { "\($0)".contains("short.txt") && "\($0)".contains("4 tokens") }
        #expect {
            try CalibrationSet(documents: [("a", [1, 2, 3])], sequenceLength: 1)
        } throws: { "\($0)".contains("at least 2") }
        let set = try CalibrationSet(documents: [("a", Array(0..<8))], sequenceLength: 4)
        #expect(throws: CalibrationError.self) { try set.tokens(of: 2, count: 4) }
        #expect(throws: CalibrationError.self) { try set.tokens(of: 0, count: 5) }
        #expect {
            try CalibrationSet.load(
                paths: ["/nonexistent/novel.txt"], tokenizer: try Self.tokenizer(), sequenceLength: 8)
        } throws: { "\($0)".contains("/nonexistent/novel.txt") }
    }

    @Test func heldOutTextTakesPrefixOfConcatenation() throws {
        let text = try HeldOutText(documents: [("a", [1, 2, 3]), ("b", [4, 5, 6, 7]), ("c", [8])], tokenCount: 5)
        #expect(text.tokens == [1, 2, 3, 4, 5])
        #expect(text.documentNames == ["a", "b"])
        #expect {
            try HeldOutText(documents: [("a", [1, 2, 3])], tokenCount: 5)
        } throws: { "\($0)".contains("3 tokens") && "\($0)".contains("5 requested") }
    }

    static func tokenizer() throws -> BPETokenizer {
        try BPETokenizer(gguf: try GGUFFile(path: try TestAssets.require(TestAssets.smolLM2Path)))
    }

    @Test func austenCalibrationSetIsDeterministic() throws {
        let tokenizer = try Self.tokenizer()
        let paths = CalibrationSet.paths(CalibrationSet.defaultCalibrationFiles, in: TestAssets.austenDirectory)
        for path in paths { _ = try TestAssets.require(path) }
        let first = try CalibrationSet.load(paths: paths, tokenizer: tokenizer, sequenceLength: 1024)
        let second = try CalibrationSet.load(paths: paths, tokenizer: tokenizer, sequenceLength: 1024)
        #expect(first.sequences == second.sequences)
        #expect(first.documents.count == 4)
        // Four novels of 0.43 to 0.88 MB hold several hundred sequences of 1,024 tokens.
        #expect(first.count > 400)
        for document in first.documents {
            #expect(document.sequenceIDs.count == document.tokenCount / 1024, "\(document.name)")
        }
        #expect(first.sequences.allSatisfy { $0.count == 1024 })
        #expect(tokenizer.decode(Array(first.sequences[0].prefix(4))).hasPrefix("EMMA"))
    }

    @Test func austenHeldOutTokensComeFromPrideAndPrejudice() throws {
        let tokenizer = try Self.tokenizer()
        let paths = CalibrationSet.paths(CalibrationSet.defaultEvaluationFiles, in: TestAssets.austenDirectory)
        let heldOut = try HeldOutText.load(
            paths: paths, tokenizer: tokenizer, tokenCount: HeldOutText.defaultTokenCount)
        #expect(heldOut.tokens.count == 16_384)
        #expect(heldOut.documentNames == [paths[0]])
        let text = try String(contentsOfFile: paths[0], encoding: .utf8)
        #expect(heldOut.tokens == Array(tokenizer.encode(text, parseSpecial: false).prefix(16_384)))
    }
}
