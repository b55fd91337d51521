import ElideEngine
import ElideSupport
import ElideTensor

enum EvalCommand {
    static let spec = CommandSpec(
        name: "eval perplexity", summary: "Score a text file with a model: perplexity over its tokens.",
        options: ModelOptions.specs + [
            OptionSpec("text", value: "PATH", help: "UTF-8 text file to score.", required: true),
            OptionSpec("context", value: "N", help: "Tokens per window.", default: "512"),
            OptionSpec(
                "protocol", value: "elide|llama.cpp",
                help: "elide scores every prediction; llama.cpp scores the second half of each whole window.",
                default: "elide"),
            OptionSpec("max-tokens", value: "N", help: "Score only the text's first N tokens (0: all).", default: "0"),
            .flag("json", help: "Print the result as one JSON object."),
        ])

    struct Report: Encodable {
        let model: String
        let text: String
        let perplexity: Double
        let negative_log_likelihood: Double
        let scored_tokens: Int
        let windows: Int
        let tokens_in_text: Int
        let context: Int
        let `protocol`: String
        let activations: String
        let threads: Int
        let seconds: Double
        let plan: String?
    }

    static func run(_ arguments: ArraySlice<String>) throws -> Int32 {
        if arguments.first == nil || arguments.first == "--help" || arguments.first == "-h" {
            print(
                "USAGE: elide eval perplexity|ffn-skip|vision [options]\n\n"
                    + "  perplexity  perplexity of a text file\n"
                    + "  ffn-skip    quality of FFN skipping against the skip ratio\n"
                    + "  vision      vision token-reduction policies on DINOv2-S\n\n"
                    + "See 'elide eval <evaluation> --help' for the options of each.")
            return arguments.first == nil ? ExitCode.usage : ExitCode.success
        }
        if arguments.first == "ffn-skip" {
            return try FeedForwardSkipEvalCommand.run(arguments.dropFirst())
        }
        guard arguments.first == "perplexity" else {
            throw UsageError(
                "unknown evaluation '\(arguments.first ?? "")'; available: elide eval perplexity, elide eval "
                    + "ffn-skip, elide eval vision")
        }
        guard let options = try parseOrHelp(spec, arguments.dropFirst()) else { return ExitCode.success }
        let modelPath = try options.required("model")
        let textPath = try options.required("text")
        let context = try options.int("context") ?? 512
        guard context >= 2 && context <= 1 << 16 else {
            throw UsageError("invalid value '\(context)' for --context: expected 2 to 65536 tokens")
        }
        let scoring = PerplexityProtocol(rawValue: try options.choice("protocol", ["elide", "llama.cpp"])!)!
        let maxTokens = try options.int("max-tokens") ?? 0
        let threads = try ModelOptions.threads(options)
        let precision = try ModelOptions.precision(options)

        let text = try readUTF8Text(path: textPath)
        let loaded = try LoadedModel(path: modelPath)
        let mask = try ModelOptions.mask(options, model: loaded.model)
        var tokens = loaded.tokenizer.encode(text, parseSpecial: false)
        if maxTokens > 0 && tokens.count > maxTokens { tokens = Array(tokens[..<maxTokens]) }

        let pool = ThreadPool(threads: threads)
        let evaluator = PerplexityEvaluator(model: loaded.model, precision: precision, mask: mask, pool: pool)
        let start = MonotonicClock.now()
        let json = options.flag("json")
        let bos = loaded.tokenizer.addBOS ? loaded.tokenizer.bosID : nil
        let result = try evaluator.evaluate(tokens: tokens, context: context, protocol: scoring, bosID: bos) {
            window, windows in
            if !json { printError("perplexity: window \(window)/\(windows)") }
        }
        let seconds = MonotonicClock.seconds(since: start)

        if json {
            print(
                try jsonLine(
                    Report(
                        model: modelPath, text: textPath, perplexity: result.perplexity,
                        negative_log_likelihood: result.negativeLogLikelihood, scored_tokens: result.scoredTokens,
                        windows: result.windows, tokens_in_text: result.tokensInText, context: context,
                        protocol: scoring.rawValue, activations: precision.rawValue, threads: threads,
                        seconds: seconds, plan: options.string("plan"))))
        } else {
            let running = result.perWindow.enumerated().map { "[\($0.offset + 1)]\(formatted($0.element, 4))" }
            print(running.joined(separator: ","))
            print(
                "perplexity \(formatted(result.perplexity, 4)) over \(result.scoredTokens) scored tokens"
                    + " (\(result.windows) windows of \(context), protocol \(scoring.rawValue),"
                    + " activations \(precision.rawValue), \(formatted(seconds, 1)) s)")
        }
        return ExitCode.success
    }
}

/// Formats `value` with `digits` digits after the decimal point.
func formatted(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return String(value) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = String(rounded)
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
    } else if digits > 0 {
        text += "." + String(repeating: "0", count: digits)
    }
    return text
}
