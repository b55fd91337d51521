import ElideEngine
import ElideFormats
import ElideModels
import ElideSupport
import ElideTensor
import Foundation

enum GenerateCommand {
    static let spec = CommandSpec(
        name: "generate", summary: "Generate text from a prompt.",
        options: ModelOptions.specs + [
            OptionSpec("prompt", value: "TEXT", help: "Prompt text.", required: true),
            OptionSpec("max-tokens", value: "N", help: "Maximum number of tokens to generate.", default: "64"),
            OptionSpec(
                "temperature", value: "T", help: "Sampling temperature; 0 picks the most likely token.", default: "0.8"),
            OptionSpec("top-k", value: "K", help: "Sample among the K most likely tokens.", default: "40"),
            OptionSpec("seed", value: "S", help: "Random seed for sampling.", default: "0"),
            FeedForwardSkipOptions.policySpec,
            OptionSpec(
                "log-skips", value: "FILE",
                help: "Write one JSON line per generated token with the layers whose FFN block it skipped."),
            .flag("chat", help: "Wrap the prompt in the model's ChatML template as a user message."),
            .flag("json", help: "Print token ids, text and speeds as one JSON object."),
        ])

    struct Report: Encodable {
        let prompt_tokens: [Int]
        let tokens: [Int]
        let text: String
        let prefill_tokens_per_second: Double
        let decode_tokens_per_second: Double
        let stopped_at_end_of_sequence: Bool
        let activations: String
        let threads: Int
        let ffn_skip_ratio: Double?
        let skipped_feed_forward: [[Int]]?
    }

    /// One line of the `--log-skips` file.
    struct SkipLogLine: Encodable {
        let index: Int
        let token: Int
        let skipped_layers: [Int]
    }

    static func run(_ arguments: ArraySlice<String>) throws -> Int32 {
        guard let options = try parseOrHelp(spec, arguments) else { return ExitCode.success }
        let maxTokens = try options.int("max-tokens") ?? 64
        guard maxTokens >= 0 else {
            throw UsageError("invalid value '\(maxTokens)' for --max-tokens: expected 0 or more")
        }
        let temperature = try options.double("temperature") ?? 0.8
        guard temperature >= 0 else {
            throw UsageError("invalid value '\(temperature)' for --temperature: expected 0 or more")
        }
        let topK = try options.int("top-k") ?? 40
        guard topK >= 1 else { throw UsageError("invalid value '\(topK)' for --top-k: expected 1 or more") }
        guard let seed = UInt64(options.string("seed") ?? "0") else {
            throw UsageError(
                "invalid value '\(options.string("seed") ?? "")' for --seed: expected a whole number from 0 to 2^64-1")
        }
        let threads = try ModelOptions.threads(options)
        let precision = try ModelOptions.precision(options)

        let loaded = try LoadedModel(path: try options.required("model"))
        let mask = try ModelOptions.mask(options, model: loaded.model)
        let skipPolicy = try FeedForwardSkipOptions.policy(options, model: loaded.model)
        if options.string("log-skips") != nil && skipPolicy == nil {
            throw UsageError("--log-skips needs --ffn-skip POLICY; without a policy no FFN block is skipped")
        }
        var promptText = try options.required("prompt")
        if options.flag("chat") {
            promptText = ChatTemplate.chatML(messages: [(role: "user", content: promptText)], addGenerationPrompt: true)
        }
        var prompt = loaded.tokenizer.encode(promptText, parseSpecial: options.flag("chat"))
        if loaded.tokenizer.addBOS, let bos = loaded.tokenizer.bosID { prompt.insert(bos, at: 0) }
        guard !prompt.isEmpty else {
            throw UsageError("the prompt is empty after tokenization; pass some text with --prompt")
        }

        let capacity = min(loaded.model.configuration.contextLength, prompt.count + maxTokens)
        guard prompt.count < loaded.model.configuration.contextLength else {
            throw UsageError(
                "the prompt has \(prompt.count) tokens; the model's context holds \(loaded.model.configuration.contextLength)"
            )
        }
        let session = LlamaSession(
            model: loaded.model, capacity: max(capacity, prompt.count + 1), precision: precision, mask: mask,
            pool: ThreadPool(threads: threads))
        var sampler = TokenSampler(temperature: Float(temperature), topK: topK, seed: seed)
        var stops: Set<Int> = []
        if let eos = loaded.tokenizer.eosID { stops.insert(eos) }
        if options.flag("chat"), let end = loaded.tokenizer.encode("<|im_end|>", parseSpecial: true).first {
            stops.insert(end)
        }

        let json = options.flag("json")
        let streamer = ByteStreamer(tokenizer: loaded.tokenizer)
        let result = TextGenerator(session: session).generate(
            prompt: prompt, maxTokens: maxTokens, sampler: &sampler, stopTokens: stops, skipPolicy: skipPolicy
        ) { token in
            if !json { streamer.write(token) }
        }

        let text = loaded.tokenizer.decode(result.generatedTokens)
        if let logPath = options.string("log-skips") {
            try writeSkipLog(result, to: logPath)
        }
        if json {
            print(
                try jsonLine(
                    Report(
                        prompt_tokens: result.promptTokens, tokens: result.generatedTokens, text: text,
                        prefill_tokens_per_second: result.prefillTokensPerSecond,
                        decode_tokens_per_second: result.decodeTokensPerSecond,
                        stopped_at_end_of_sequence: result.stoppedAtEndOfSequence, activations: precision.rawValue,
                        threads: threads, ffn_skip_ratio: skipPolicy.map { _ in result.feedForwardSkipRatio },
                        skipped_feed_forward: skipPolicy.map { _ in result.skippedFeedForward })))
        } else {
            streamer.finish()
            printError(
                "generate: \(result.promptTokens.count) prompt tokens at \(formatted(result.prefillTokensPerSecond, 1)) tokens/s,"
                    + " \(result.generatedTokens.count) generated at \(formatted(result.decodeTokensPerSecond, 1)) tokens/s"
            )
            if skipPolicy != nil {
                let count = result.feedForwardSkipCount
                printError(
                    "generate: skipped \(count.skipped) of \(count.considered) FFN blocks after the warm-up"
                        + " (skip ratio \(formatted(count.ratio, 3)))")
            }
        }
        return ExitCode.success
    }

    /// Writes one JSON line per generated token: its index, id and the layers whose FFN block it skipped.
    static func writeSkipLog(_ result: GenerationResult, to path: String) throws {
        var text = ""
        for (index, token) in result.generatedTokens.enumerated() {
            text +=
                try jsonLine(
                    SkipLogLine(index: index, token: token, skipped_layers: result.skippedFeedForward[index])) + "\n"
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandError("cannot write the skip log \(path): \(error)")
        }
    }
}

/// Writes generated text to stdout as tokens arrive, holding back bytes of an incomplete UTF-8 sequence.
final class ByteStreamer {
    let tokenizer: BPETokenizer
    var pending: [UInt8] = []

    init(tokenizer: BPETokenizer) { self.tokenizer = tokenizer }

    func write(_ token: Int) {
        pending += tokenizer.piece(token)
        let complete = completePrefixLength(pending)
        guard complete > 0 else { return }
        FileHandle.standardOutput.write(Data(pending[..<complete]))
        pending.removeFirst(complete)
    }

    func finish() {
        FileHandle.standardOutput.write(Data(pending + [UInt8(ascii: "\n")]))
        pending = []
    }

    /// Length of the longest prefix that does not end inside a multi-byte UTF-8 sequence.
    private func completePrefixLength(_ bytes: [UInt8]) -> Int {
        var index = bytes.count
        var back = 0
        while index > 0 && back < 4 {
            let byte = bytes[index - 1]
            if byte & 0xC0 == 0x80 {
                index -= 1
                back += 1
                continue
            }
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            return length > back + 1 ? index - 1 : bytes.count
        }
        return bytes.count
    }
}
