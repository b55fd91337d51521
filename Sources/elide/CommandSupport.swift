import ElideEngine
import ElideFormats
import ElideModels
import ElideSupport
import ElideTensor
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes one line to stderr.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

func editDistanceForSuggestion(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}

/// Options shared by every command that runs the model.
enum ModelOptions {
    static let specs: [OptionSpec] = [
        OptionSpec("model", value: "PATH", help: "GGUF model file.", required: true),
        OptionSpec(
            "threads", value: "N", help: "Compute threads.", default: String(ThreadPool.defaultThreadCount)),
        OptionSpec(
            "activations", value: "q8|f32",
            help: "Activation precision in quantized matrix products: q8 rounds to 8-bit blocks as llama.cpp does.",
            default: "q8"),
        OptionSpec("plan", value: "FILE", help: "Compression plan (JSON) naming the sub-blocks to drop."),
    ]

    static func threads(_ options: ParsedOptions) throws -> Int {
        let threads = try options.int("threads") ?? ThreadPool.defaultThreadCount
        guard threads >= 1 && threads <= 256 else {
            throw UsageError("invalid value '\(threads)' for --threads: expected 1 to 256")
        }
        return threads
    }

    static func precision(_ options: ParsedOptions) throws -> ActivationPrecision {
        ActivationPrecision(rawValue: try options.choice("activations", ["q8", "f32"]) ?? "q8")!
    }

    static func mask(_ options: ParsedOptions, model: LlamaModel) throws -> SubBlockMask? {
        guard let path = options.string("plan") else { return nil }
        let plan = try CompressionPlan.load(path: path)
        try plan.validate(layerCount: model.configuration.blockCount)
        return plan.mask
    }
}

/// A loaded model with its tokenizer.
struct LoadedModel {
    let model: LlamaModel
    let tokenizer: BPETokenizer

    init(path: String) throws {
        let file = try GGUFFile(path: path)
        model = try LlamaModel(file: file)
        tokenizer = try BPETokenizer(gguf: file)
    }
}

/// Reads a text file that must be UTF-8; the error names the file and the offset of the first invalid byte.
func readUTF8Text(path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CommandError("cannot read text file \(path): file not found or not readable")
    }
    let bytes = [UInt8](data)
    if let text = String(validating: bytes, as: UTF8.self) {
        return text
    }
    var offset = 0
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    decodeLoop: while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar): offset += UTF8.width(scalar)
        case .emptyInput: break decodeLoop
        case .error: break decodeLoop
        }
    }
    throw CommandError(
        "text file \(path) is not valid UTF-8: invalid byte 0x\(String(bytes[min(offset, bytes.count - 1)], radix: 16)) at offset \(offset); convert it to UTF-8 (for example with iconv)"
    )
}

struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Encodes `value` as one line of JSON with sorted keys.
func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Parses the command's options, printing help and returning nil when `--help` was given.
func parseOrHelp(_ spec: CommandSpec, _ arguments: ArraySlice<String>) throws -> ParsedOptions? {
    let options = try spec.parse(Array(arguments))
    if options.flag("help") {
        print(spec.helpText)
        return nil
    }
    return options
}
