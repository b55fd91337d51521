import Foundation
import Testing

@testable import ElideFormats

/// The cases of `scripts/reference/tokenizer-cases.json`, read from the repository.
struct TokenizerCases: Decodable {
    let strings: [String]
    let invalidUTF8Hex: [String]

    enum CodingKeys: String, CodingKey {
        case strings
        case invalidUTF8Hex = "invalid_utf8_hex"
    }

    /// Every case as input bytes, the strings first, in file order.
    var inputs: [[UInt8]] {
        get throws { try strings.map { Array($0.utf8) } + invalidUTF8Hex.map(bytes(fromHex:)) }
    }

    static func load() throws -> TokenizerCases {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let url = repository.appendingPathComponent("scripts/reference/tokenizer-cases.json")
        return try JSONDecoder().decode(TokenizerCases.self, from: Data(contentsOf: url))
    }
}

/// A fixture file under `Tests/ElideFormatsTests/Fixtures` that is not in the test bundle.
struct FixtureMissing: Error, CustomStringConvertible {
    let name: String
    let producer: String
    var description: String { "Tests/ElideFormatsTests/Fixtures/\(name).json is missing; \(producer) writes it" }
}

/// Loads and decodes `Fixtures/<name>.json` from the test bundle, or throws `FixtureMissing`.
func loadFixture<Fixture: Decodable>(_ type: Fixture.Type, named name: String, producer: String) throws -> Fixture {
    guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
        throw FixtureMissing(name: name, producer: producer)
    }
    return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
}

func bytes(fromHex hex: String) throws -> [UInt8] {
    let digits = Array(hex.utf8)
    try #require(digits.count.isMultiple(of: 2), "hex string \(hex) has an odd number of digits")
    return try stride(from: 0, to: digits.count, by: 2).map { index in
        let pair = String(decoding: digits[index..<index + 2], as: UTF8.self)
        return try #require(UInt8(pair, radix: 16), "invalid hex digits \(pair) in \(hex)")
    }
}

/// `smollm2-llama-tokenize.json`: llama.cpp's `llama-tokenize` output for every case, with and without
/// special-token parsing, and the bytes of the pieces it prints.
struct LlamaTokenizeFixture: Decodable {
    struct Output: Decodable {
        let ids: [Int]
        /// The concatenated bytes of `common_token_to_piece` for the ids, with special tokens rendered.
        let decodedHex: String

        enum CodingKeys: String, CodingKey {
            case ids
            case decodedHex = "decoded_hex"
        }
    }

    struct Case: Decodable {
        let inputHex: String
        let parseSpecial: Output
        let noParseSpecial: Output

        enum CodingKeys: String, CodingKey {
            case inputHex = "input_hex"
            case parseSpecial = "parse_special"
            case noParseSpecial = "no_parse_special"
        }
    }

    let cases: [Case]
}

/// `smollm2-reference-tokens.json`: token ids from the PyPI `tokenizers` package configured as llama.cpp's
/// `smollm` tokenizer, with special tokens parsed.
struct ReferenceTokensFixture: Decodable {
    struct StringCase: Decodable {
        let text: String
        let tokenIDs: [Int]

        enum CodingKeys: String, CodingKey {
            case text
            case tokenIDs = "token_ids"
        }
    }

    struct InvalidCase: Decodable {
        let hex: String
        /// Nil where llama.cpp's reading of the bytes yields a surrogate, which Python strings cannot hold.
        let tokenIDs: [Int]?

        enum CodingKeys: String, CodingKey {
            case hex
            case tokenIDs = "token_ids"
        }
    }

    struct InvalidCases: Decodable {
        let cases: [InvalidCase]
    }

    let strings: [StringCase]
    let invalidUTF8: InvalidCases

    enum CodingKeys: String, CodingKey {
        case strings
        case invalidUTF8 = "invalid_utf8"
    }
}

/// Token ids for the reference cases, compared with llama.cpp's `llama-tokenize` and an independent Python
/// reference.
@Suite struct BPETokenizerFixtureTests {
    @Test func llamaCppIDsMatch() throws {
        let tokenizer = try SmolLM2Assets.tokenizer()
        let fixture = try loadFixture(
            LlamaTokenizeFixture.self, named: "smollm2-llama-tokenize",
            producer: "llama.cpp's llama-tokenize, built by scripts/build-llama-cpp,")
        let inputs = try TokenizerCases.load().inputs
        #expect(try fixture.cases.map { try bytes(fromHex: $0.inputHex) } == inputs)

        for fixtureCase in fixture.cases {
            let input = try bytes(fromHex: fixtureCase.inputHex)
            let withSpecial = tokenizer.encode(bytes: input, parseSpecial: true)
            let withoutSpecial = tokenizer.encode(bytes: input, parseSpecial: false)
            #expect(withSpecial == fixtureCase.parseSpecial.ids, "input \(fixtureCase.inputHex)")
            #expect(withoutSpecial == fixtureCase.noParseSpecial.ids, "input \(fixtureCase.inputHex), no special")
        }
    }

    @Test func llamaCppPiecesMatch() throws {
        let tokenizer = try SmolLM2Assets.tokenizer()
        let fixture = try loadFixture(
            LlamaTokenizeFixture.self, named: "smollm2-llama-tokenize",
            producer: "llama.cpp's llama-tokenize, built by scripts/build-llama-cpp,")
        for fixtureCase in fixture.cases {
            for output in [fixtureCase.parseSpecial, fixtureCase.noParseSpecial] {
                let decoded = tokenizer.decodeBytes(output.ids)
                #expect(decoded == (try bytes(fromHex: output.decodedHex)), "input \(fixtureCase.inputHex)")
                let input = try bytes(fromHex: fixtureCase.inputHex)
                #expect(decoded == BPETokenizer.sanitizedUTF8(input), "input \(fixtureCase.inputHex)")
            }
        }
    }

    @Test func pythonReferenceIDsMatch() throws {
        let tokenizer = try SmolLM2Assets.tokenizer()
        let fixture = try loadFixture(
            ReferenceTokensFixture.self, named: "smollm2-reference-tokens",
            producer: "scripts/reference/smollm2_reference.py")
        let cases = try TokenizerCases.load()
        #expect(fixture.strings.map(\.text) == cases.strings)
        #expect(fixture.invalidUTF8.cases.map(\.hex) == cases.invalidUTF8Hex)

        for stringCase in fixture.strings {
            let ids = tokenizer.encode(stringCase.text)
            #expect(ids == stringCase.tokenIDs, "text \(stringCase.text.debugDescription)")
        }
        var invalidCasesCompared = 0
        for invalidCase in fixture.invalidUTF8.cases {
            guard let expected = invalidCase.tokenIDs else { continue }
            let ids = tokenizer.encode(bytes: try bytes(fromHex: invalidCase.hex))
            #expect(ids == expected, "hex \(invalidCase.hex)")
            invalidCasesCompared += 1
        }
        // Only `eda080` (a surrogate) lacks reference ids.
        #expect(invalidCasesCompared == cases.invalidUTF8Hex.count - 1)
    }
}
