import ElideEngine
import ElideFormats
import ElideModels
import ElideSupport
import Foundation

/// Options and inputs shared by the commands that use FFN skipping.
enum FeedForwardSkipOptions {
    static let policySpec = OptionSpec(
        "ffn-skip", value: "FILE",
        help: "FFN skip policy file (JSON, written by 'elide calibrate ffn-skip') that decode steps follow.")

    /// The folder `scripts/fetch-assets` fills: `$ELIDE_HOME`, else `~/.cache/elide`.
    static var elideHome: String {
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["ELIDE_HOME"], !home.isEmpty { return home }
        return (environment["HOME"] ?? NSTemporaryDirectory()) + "/.cache/elide"
    }

    /// The Austen novels `scripts/fetch-assets` installs.
    static var textDirectory: String { elideHome + "/text/austen" }

    /// Loads the policy named by `--ffn-skip` and checks it against `model`, or returns nil without one.
    static func policy(_ options: ParsedOptions, model: LlamaModel) throws -> FeedForwardSkipPolicy? {
        guard let path = options.string("ffn-skip") else { return nil }
        let policy = try FeedForwardSkipPolicy.load(path: path)
        do {
            try policy.validate(layerCount: model.configuration.blockCount)
        } catch {
            throw CommandError("FFN skip policy file \(path) does not fit the model: \(error)")
        }
        return policy
    }

    /// Splits a comma-separated list of paths; an empty value gives `defaults` inside `textDirectory`.
    static func paths(_ value: String?, defaults: [String]) -> [String] {
        guard let value, !value.isEmpty else { return CalibrationSet.paths(defaults, in: textDirectory) }
        return value.split(separator: ",").map { String($0) }
    }

    /// Returns `count` sequences of `length` tokens spread evenly over the calibration set cut from `paths`.
    static func sequences(paths: [String], tokenizer: BPETokenizer, count: Int, length: Int) throws -> [[Int]] {
        let set = try CalibrationSet.load(paths: paths, tokenizer: tokenizer, sequenceLength: length)
        guard set.count >= count else {
            throw CommandError(
                "the texts [\(paths.joined(separator: ", "))] give \(set.count) sequences of \(length) tokens, "
                    + "fewer than the \(count) requested; pass more text or fewer or shorter sequences")
        }
        return (0..<count).map { set.sequences[$0 * set.count / count] }
    }

    /// Parses a positive whole number option that must be at least `minimum`.
    static func count(_ options: ParsedOptions, _ name: String, minimum: Int) throws -> Int {
        let value = try options.int(name) ?? minimum
        guard value >= minimum else {
            throw UsageError("invalid value '\(value)' for --\(name): expected \(minimum) or more")
        }
        return value
    }
}
