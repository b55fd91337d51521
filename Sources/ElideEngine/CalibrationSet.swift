import ElideFormats
import Foundation

/// Token sequences of equal length cut from text documents, numbered by stable sequence ids.
///
/// Each document is tokenized on its own (no BOS, special tokens not parsed) and cut into consecutive,
/// non-overlapping sequences of `sequenceLength` tokens. The shorter remainder at a document's end is
/// dropped, so no sequence spans two documents. Ids count up from 0 in document order, then in text
/// order, so the same files, tokenizer and length always give the same ids.
public struct CalibrationSet: Sendable {
    /// One document and the ids of the sequences cut from it.
    public struct Document: Sendable, Equatable, Codable {
        public let name: String
        public let tokenCount: Int
        public let sequenceIDs: Range<Int>
    }

    /// Tokens per sequence.
    public let sequenceLength: Int
    /// The sequences, indexed by sequence id; `sequenceLength` tokens each.
    public let sequences: [[Int]]
    public let documents: [Document]

    /// The calibration novels of the Austen corpus that `scripts/fetch-assets` installs.
    public static let defaultCalibrationFiles = [
        "emma.txt", "mansfield-park.txt", "northanger-abbey.txt", "sense-and-sensibility.txt",
    ]

    /// The held-out novels, never used for calibration.
    public static let defaultEvaluationFiles = ["pride-and-prejudice.txt", "persuasion.txt"]

    /// Tokens per calibration sequence unless a job sets another length.
    public static let defaultSequenceLength = 1024

    /// Cuts already tokenized documents into sequences.
    public init(documents: [(name: String, tokens: [Int])], sequenceLength: Int) throws {
        guard sequenceLength >= 2 else {
            throw CalibrationError("the sequence length is \(sequenceLength); it must be at least 2 tokens")
        }
        var sequences: [[Int]] = []
        var described: [Document] = []
        for document in documents {
            let first = sequences.count
            var start = 0
            while start + sequenceLength <= document.tokens.count {
                sequences.append(Array(document.tokens[start..<start + sequenceLength]))
                start += sequenceLength
            }
            described.append(
                Document(name: document.name, tokenCount: document.tokens.count, sequenceIDs: first..<sequences.count))
        }
        guard !sequences.isEmpty else {
            let names = documents.map(\.name).joined(separator: ", ")
            throw CalibrationError(
                "no document among [\(names)] contains \(sequenceLength) tokens, so no calibration sequence "
                    + "can be cut; pass longer texts or a shorter sequence length")
        }
        self.sequenceLength = sequenceLength
        self.sequences = sequences
        self.documents = described
    }

    /// Reads and tokenizes UTF-8 text files, then cuts them as `init(documents:sequenceLength:)` does.
    public static func load(paths: [String], tokenizer: BPETokenizer, sequenceLength: Int) throws -> CalibrationSet {
        let documents = try paths.map { path in
            (name: path, tokens: tokenizer.encode(try readText(path: path), parseSpecial: false))
        }
        return try CalibrationSet(documents: documents, sequenceLength: sequenceLength)
    }

    /// The number of sequences.
    public var count: Int { sequences.count }

    /// Total tokens over all sequences.
    public var tokenCount: Int { sequences.count * sequenceLength }

    /// Returns the first `count` tokens of sequence `id`.
    public func tokens(of id: Int, count: Int) throws -> ArraySlice<Int> {
        try validate(sequenceID: id, tokenCount: count)
        return sequences[id][0..<count]
    }

    /// Checks a sequence id and a token count against the set; the error names the bad value and the range.
    public func validate(sequenceID id: Int, tokenCount: Int) throws {
        guard id >= 0 && id < sequences.count else {
            throw CalibrationError(
                "sequence id \(id) is outside the calibration set's ids 0..<\(sequences.count); "
                    + "draw ids from the same files, tokenizer and sequence length")
        }
        guard tokenCount >= 2 && tokenCount <= sequenceLength else {
            throw CalibrationError(
                "\(tokenCount) tokens were requested from sequence \(id); request 2 to \(sequenceLength) tokens")
        }
    }

    /// Returns the paths of `names` inside `directory`.
    public static func paths(_ names: [String], in directory: String) -> [String] {
        names.map { directory.hasSuffix("/") ? directory + $0 : directory + "/" + $0 }
    }

    /// Reads a UTF-8 text file; the error names the file.
    static func readText(path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CalibrationError("cannot read text file \(path): file not found or not readable")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw CalibrationError("text file \(path) is not valid UTF-8; convert it (for example with iconv)")
        }
        return text
    }
}

/// A calibration or held-out text that cannot be used, with the file or value at fault.
public struct CalibrationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
