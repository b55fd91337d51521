import ElideSupport
import Foundation
import Testing

@testable import ElideFormats

/// The SmolLM2 model file and texts that `scripts/fetch-assets` downloads, shared by the tokenizer tests.
enum SmolLM2Assets {
    /// An asset file that is not on disk.
    struct MissingAsset: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path) is missing: run scripts/fetch-assets (or `make assets`) to download it" }
    }

    /// `${ELIDE_HOME:-~/.cache/elide}`.
    static var home: String {
        let environment = ProcessInfo.processInfo.environment
        return environment["ELIDE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(NSHomeDirectory())/.cache/elide"
    }

    static var modelPath: String { "\(home)/models/SmolLM2-135M-Instruct.Q4_1.gguf" }

    /// Returns the path of an asset, or throws `MissingAsset` naming the command that downloads it.
    static func requirePath(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw MissingAsset(path: path) }
        return path
    }

    static func openModel() throws -> GGUFFile {
        try GGUFFile(path: requirePath(modelPath))
    }

    /// The tokenizer, built once. Every test that requests it fails while the model file is missing.
    private static let loadedTokenizer = Result { try BPETokenizer(gguf: openModel()) }

    static func tokenizer() throws -> BPETokenizer {
        try loadedTokenizer.get()
    }
}

/// Encoding and decoding with SmolLM2-135M-Instruct's vocabulary: metadata, round-trip properties on
/// the reference cases, random input and a whole novel. `BPETokenizerFixtureTests` compares token ids with
/// llama.cpp and the Python reference.
@Suite struct BPETokenizerModelTests {
    @Test func smolLM2MetadataLoads() throws {
        let tokenizer = try SmolLM2Assets.tokenizer()
        #expect(tokenizer.vocabularySize == 49_152)
        #expect(tokenizer.bosID == 1)
        #expect(tokenizer.eosID == 2)
        #expect(tokenizer.paddingID == 2)
        #expect(tokenizer.unknownID == 0)
        #expect(tokenizer.addBOS == false)
        #expect(tokenizer.preTokenizerName == "smollm")
        #expect((0...16).allSatisfy(tokenizer.isControl))
        #expect(!tokenizer.isControl(17))
        #expect(tokenizer.piece(2) == Array("<|im_end|>".utf8))
        // Found by checking all 256 byte characters against tokenizer.ggml.tokens in Python.
        let missing: [UInt8] = [4, 6, 19, 20, 22, 29, 192, 193, 241, 242] + Array(245...255)
        #expect(tokenizer.bytesWithoutToken == missing)
    }

    // MARK: Round trips

    @Test func validCasesRoundTrip() throws {
        let tokenizer = try SmolLM2Assets.tokenizer()
        for text in try TokenizerCases.load().strings {
            #expect(tokenizer.decodeBytes(tokenizer.encode(text)) == Array(text.utf8), "text \(text.debugDescription)")
            let literal = tokenizer.encode(text, parseSpecial: false)
            #expect(
                tokenizer.decodeBytes(literal) == Array(text.utf8), "text \(text.debugDescription), parseSpecial false")
            #expect(!literal.contains(where: tokenizer.isControl), "text \(text.debugDescription)")
        }
    }

    @Test func invalidCasesRoundTripSanitized() throws {
        let tokenizer = try SmolLM2Assets.tokenizer()
        for hex in try TokenizerCases.load().invalidUTF8Hex {
            let input = try bytes(fromHex: hex)
            #expect(
                tokenizer.decodeBytes(tokenizer.encode(bytes: input)) == BPETokenizer.sanitizedUTF8(input), "hex \(hex)"
            )
        }
        // What llama.cpp's reading of invalid UTF-8 makes of three of them.
        #expect(tokenizer.decodeBytes(tokenizer.encode(bytes: [0xFF])) == [0xEF, 0xBF, 0xBD])
        #expect(tokenizer.decodeBytes(tokenizer.encode(bytes: [0xC0, 0xAF])) == Array("/".utf8))
        #expect(tokenizer.decodeBytes(tokenizer.encode(bytes: [0xED, 0xA0, 0x80])) == [0xED, 0xA0, 0x80])
    }

    @Test func bytesWithoutTokenAreDropped() throws {
        // llama.cpp finds no token for byte 0x14's character "Ĕ" and drops it; so does the tokenizer.
        let tokenizer = try SmolLM2Assets.tokenizer()
        #expect(tokenizer.decode(tokenizer.encode("a\u{14}b")) == "ab")
        #expect(tokenizer.decode(tokenizer.encode("a\u{15}b")) == "a\u{15}b")
    }

    /// For SmolLM2 no merge rule and no token involves a byte without its own token, so every such byte is
    /// dropped and all others survive.
    @Test func randomBytesRoundTripSanitized() throws {
        let tokenizer = try SmolLM2Assets.tokenizer()
        let dropped = Set(tokenizer.bytesWithoutToken)
        var generator = SeededGenerator(seed: 20_261_204)
        for _ in 0..<400 {
            let input = Self.randomBytes(count: Int.random(in: 0...48, using: &generator), using: &generator)
            let ids = tokenizer.encode(bytes: input)
            let expected = BPETokenizer.sanitizedUTF8(input).filter { !dropped.contains($0) }
            #expect(tokenizer.decodeBytes(ids) == expected, "bytes \(input)")
            if String(validating: input, as: UTF8.self) != nil && !input.contains(where: dropped.contains) {
                #expect(tokenizer.decodeBytes(ids) == input, "valid UTF-8 \(input)")
            }
        }
    }

    @Test func randomTextRoundTrip() throws {
        let tokenizer = try SmolLM2Assets.tokenizer()
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<400 {
            let text = Self.randomText(count: Int.random(in: 0...32, using: &generator), using: &generator)
            #expect(tokenizer.decodeBytes(tokenizer.encode(text)) == Array(text.utf8), "text \(text.debugDescription)")
        }
    }

    @Test func prideAndPrejudiceRoundTrips() throws {
        let tokenizer = try SmolLM2Assets.tokenizer()
        let path = try SmolLM2Assets.requirePath("\(SmolLM2Assets.home)/text/austen/pride-and-prejudice.txt")
        let text = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let ids = tokenizer.encode(bytes: text)
        #expect(tokenizer.decodeBytes(ids) == text)
        // The number of tokens that scripts/reference/smollm2_tokenizer.py (PyPI tokenizers 0.23.3) gives for
        // the whole novel. Its ids were also compared one by one with these when this test was written.
        #expect(ids.count == 167_892)
    }

    // MARK: Generators

    /// Bytes drawn mostly from the ranges that make UTF-8 interesting: ASCII, continuation bytes, lead bytes
    /// of every length, and the bytes that can never appear.
    static func randomBytes(count: Int, using generator: inout SeededGenerator) -> [UInt8] {
        let ranges: [ClosedRange<UInt8>] = [
            0x00...0x7F, 0x80...0xBF, 0xC0...0xDF, 0xE0...0xEF, 0xF0...0xF7, 0xF8...0xFF,
        ]
        return (0..<count).map { _ in
            // !-safe: `ranges` is not empty.
            UInt8.random(in: ranges.randomElement(using: &generator)!, using: &generator)
        }
    }

    /// Text mixing ASCII, special-token texts, Latin, Greek, CJK, digits of other scripts, spaces and emoji.
    static func randomText(count: Int, using generator: inout SeededGenerator) -> String {
        let ranges: [ClosedRange<UInt32>] = [
            0x20...0x7E, 0x09...0x0D, 0xA0...0x17F, 0x370...0x3FF, 0x660...0x669, 0x2000...0x206F,
            0x3000...0x303F, 0x4E00...0x4E80, 0xAC00...0xAC40, 0x1F300...0x1F64F, 0xE000...0xE010,
        ]
        var text = ""
        for _ in 0..<count {
            if Int.random(in: 0..<20, using: &generator) == 0 {
                text += ["<|im_start|>", "<|im_end|>", "<|endoftext|>"].randomElement(using: &generator)!
                continue
            }
            // !-safe: the ranges hold no surrogates, so every value is a scalar.
            let range = ranges.randomElement(using: &generator)!
            text.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: range, using: &generator))!)
        }
        return text
    }
}
