import ElideEngine
import ElideFormats
import ElideModels
import ElideSupport
import ElideTensor
import Foundation

/// `elide eval ffn-skip`: quality of FFN skipping against the skip ratio, adaptive against random.
enum FeedForwardSkipEvalCommand {
    static let spec = CommandSpec(
        name: "eval ffn-skip",
        summary: """
            Measure FFN skipping's quality against the skip ratio, adaptive (FFN-SkipLLM) against random skipping.

              Token agreement: the dense model (no plan, no skipping) continues each held-out prompt greedily,
              and the agreement is the fraction of teacher-forced decode steps whose most likely token matches
              that continuation. Perplexity: held-out windows decoded token by token with the policy active,
              every prediction after the prefill scored. The random baseline skips eligible blocks at the
              ratio the adaptive policy measured, with the same warm-up and cold regions. The skip ratio is
              skipped FFN blocks over the FFN blocks the plan keeps, over the decode steps after the warm-up.
            """,
        options: ModelOptions.specs + [
            OptionSpec(
                "policy", value: "FILE", help: "FFN skip policy to measure; without it, --ratios are calibrated."),
            OptionSpec(
                "ratios", value: "LIST", help: "Comma-separated target skip ratios to calibrate and measure.",
                default: "0.05,0.15,0.25,0.35"),
            OptionSpec(
                "prompt-text", value: "FILE",
                help: "Text the prompts are cut from (default: persuasion.txt under $ELIDE_HOME/text/austen)."),
            OptionSpec(
                "perplexity-text", value: "FILE",
                help: "Text the perplexity windows are cut from (default: pride-and-prejudice.txt there)."),
            OptionSpec("prompts", value: "N", help: "Held-out prompts for token agreement.", default: "8"),
            OptionSpec(
                "prompt-tokens", value: "N", help: "Tokens per prompt, and prefill tokens per window.", default: "32"),
            OptionSpec(
                "continuation-tokens", value: "N", help: "Dense greedy tokens generated per prompt.", default: "48"),
            OptionSpec("windows", value: "N", help: "Held-out windows scored for perplexity.", default: "2"),
            OptionSpec("context", value: "N", help: "Tokens per perplexity window.", default: "192"),
            OptionSpec("seed", value: "S", help: "Seed of the random-skipping baseline.", default: "0"),
            OptionSpec("warmup", value: "N", help: "Warm-up tokens of calibrated policies.", default: "16"),
            OptionSpec(
                "calibration", value: "FILES",
                help: "Calibration texts for --ratios (default: the four calibration novels, as calibrate uses)."),
            OptionSpec("sequences", value: "N", help: "Calibration sequences for --ratios.", default: "4"),
            OptionSpec("sequence-length", value: "N", help: "Tokens per calibration sequence.", default: "256"),
            OptionSpec("refine-passes", value: "N", help: "Real decodes that correct each calibrated τ.", default: "2"),
            OptionSpec(
                "svg", value: "FILE", help: "Write agreement and perplexity against the skip ratio as an SVG plot."),
            .flag("json", help: "Print the rows as one JSON object."),
        ])

    /// One configuration's measured quality.
    struct Row: Encodable {
        let label: String
        let rule: String
        let target_ratio: Double?
        let skip_ratio: Double
        let agreement: Double
        let perplexity: Double
        let policy: FeedForwardSkipPolicy?
    }

    struct Report: Encodable {
        let model: String
        let plan: String?
        let prompts: Int
        let agreement_steps: Int
        let scored_tokens: Int
        let rows: [Row]
        let seconds: Double
    }

    static func run(_ arguments: ArraySlice<String>) throws -> Int32 {
        guard let options = try parseOrHelp(spec, arguments) else { return ExitCode.success }
        let start = MonotonicClock.now()
        let promptCount = try FeedForwardSkipOptions.count(options, "prompts", minimum: 1)
        let promptTokens = try FeedForwardSkipOptions.count(options, "prompt-tokens", minimum: 1)
        let continuation = try FeedForwardSkipOptions.count(options, "continuation-tokens", minimum: 2)
        let windowCount = try FeedForwardSkipOptions.count(options, "windows", minimum: 1)
        let context = try FeedForwardSkipOptions.count(options, "context", minimum: promptTokens + 2)
        guard let seed = UInt64(options.string("seed") ?? "0") else {
            throw UsageError("invalid value '\(options.string("seed") ?? "")' for --seed: expected a whole number")
        }
        let threads = try ModelOptions.threads(options)
        let precision = try ModelOptions.precision(options)
        let modelPath = try options.required("model")
        let loaded = try LoadedModel(path: modelPath)
        let model = loaded.model
        let mask = try ModelOptions.mask(options, model: model)
        let pool = ThreadPool(threads: threads)
        let json = options.flag("json")
        let log: (String) -> Void = { line in if !json { printError("eval ffn-skip: " + line) } }

        // Held-out prompts and perplexity windows, with the dense model's continuations.
        let promptText = options.string("prompt-text") ?? FeedForwardSkipOptions.textDirectory + "/persuasion.txt"
        let perplexityText =
            options.string("perplexity-text") ?? FeedForwardSkipOptions.textDirectory + "/pride-and-prejudice.txt"
        let prompts = try cut(path: promptText, tokenizer: loaded.tokenizer, count: promptCount, length: promptTokens)
        let windows = try cut(path: perplexityText, tokenizer: loaded.tokenizer, count: windowCount, length: context)
        log("dense continuations of \(promptCount) prompts")
        let quality = try FeedForwardSkipQuality(
            model: model, precision: precision, pool: pool, prompts: prompts, continuationTokens: continuation,
            perplexityWindows: windows, promptTokens: promptTokens)

        var rows: [Row] = []
        var measurement = try quality.measure(mask: nil, rule: nil)
        rows.append(row("dense", rule: "none", target: nil, measurement, policy: nil))
        if let mask {
            measurement = try quality.measure(mask: mask, rule: nil)
            rows.append(row("plan", rule: "none", target: nil, measurement, policy: nil))
        }
        for (target, policy) in try policies(options, loaded: loaded, mask: mask, pool: pool, log: log) {
            let prefix = mask == nil ? "" : "plan + "
            let adaptive = try quality.measure(mask: mask, rule: .adaptive(policy))
            rows.append(row(prefix + "adaptive", rule: "adaptive", target: target, adaptive, policy: policy))
            log(
                "adaptive: ratio \(formatted(adaptive.skipCount.ratio, 3)), agreement \(formatted(adaptive.agreement, 3))"
            )
            let randomRule = FeedForwardSkipRule.random(ratio: adaptive.skipCount.ratio, seed: seed, regions: policy)
            let random = try quality.measure(mask: mask, rule: randomRule)
            rows.append(
                row(prefix + "random", rule: "random", target: adaptive.skipCount.ratio, random, policy: policy))
        }

        if let svgPath = options.string("svg") {
            try writePlot(rows: rows, to: svgPath)
        }
        let report = Report(
            model: modelPath, plan: options.string("plan"), prompts: promptCount,
            agreement_steps: measurement.agreementSteps, scored_tokens: measurement.scoredTokens, rows: rows,
            seconds: MonotonicClock.seconds(since: start))
        if json {
            print(try jsonLine(report))
        } else {
            print(table(rows))
            print(
                "\(promptCount) prompts × \(continuation) tokens for agreement, \(measurement.scoredTokens) tokens "
                    + "scored for perplexity, \(formatted(report.seconds, 1)) s")
        }
        return ExitCode.success
    }

    /// Returns the policies to measure with their target ratios: the file's, or one calibrated per ratio.
    static func policies(
        _ options: ParsedOptions, loaded: LoadedModel, mask: SubBlockMask?, pool: ThreadPool,
        log: (String) -> Void
    ) throws -> [(target: Double?, policy: FeedForwardSkipPolicy)] {
        if let path = options.string("policy") {
            let policy = try FeedForwardSkipPolicy.load(path: path)
            try policy.validate(layerCount: loaded.model.configuration.blockCount)
            return [(nil, policy)]
        }

        // Without a policy file, one policy is calibrated per target ratio from a shared dense trace.
        let text = options.string("ratios") ?? ""
        let ratios = text.split(separator: ",").compactMap { Double($0) }
        guard !ratios.isEmpty, ratios.count == text.split(separator: ",").count, ratios.allSatisfy({ $0 > 0 && $0 < 1 })
        else {
            throw UsageError("invalid value '\(text)' for --ratios: expected comma-separated ratios between 0 and 1")
        }

        let paths = FeedForwardSkipOptions.paths(
            options.string("calibration"), defaults: CalibrationSet.defaultCalibrationFiles)
        let sequences = try FeedForwardSkipOptions.sequences(
            paths: paths, tokenizer: loaded.tokenizer,
            count: try FeedForwardSkipOptions.count(options, "sequences", minimum: 1),
            length: try FeedForwardSkipOptions.count(options, "sequence-length", minimum: 2))

        let calibrator = FeedForwardSkipCalibrator(
            model: loaded.model, mask: mask, precision: try ModelOptions.precision(options), pool: pool)
        var settings = FeedForwardSkipCalibrator.Settings(targetRatio: ratios[0])
        settings.warmupTokens = try FeedForwardSkipOptions.count(options, "warmup", minimum: 0)
        settings.promptTokens = try FeedForwardSkipOptions.count(options, "prompt-tokens", minimum: 1)
        settings.refinementPasses = try FeedForwardSkipOptions.count(options, "refine-passes", minimum: 0)

        log("dense trace of \(sequences.count) calibration sequences")
        let trace = FeedForwardCosineTrace.record(
            model: loaded.model, mask: calibrator.mask, precision: calibrator.precision, pool: pool,
            sequences: sequences, promptTokens: settings.promptTokens, warmupTokens: settings.warmupTokens)
        return try ratios.map { ratio in
            settings.targetRatio = ratio
            let calibration = try calibrator.calibrate(sequences: sequences, trace: trace, settings: settings) { line in
                log("target \(ratio): \(line)")
            }
            return (ratio, calibration.policy)
        }
    }

    static func row(
        _ label: String, rule: String, target: Double?, _ measurement: FeedForwardSkipQuality.Measurement,
        policy: FeedForwardSkipPolicy?
    ) -> Row {
        Row(
            label: label, rule: rule, target_ratio: target, skip_ratio: measurement.skipCount.ratio,
            agreement: measurement.agreement, perplexity: measurement.perplexity, policy: policy)
    }

    /// Cuts `count` windows of `length` tokens at evenly spaced offsets of a tokenized text file.
    static func cut(path: String, tokenizer: BPETokenizer, count: Int, length: Int) throws -> [[Int]] {
        let tokens = tokenizer.encode(try readUTF8Text(path: path), parseSpecial: false)
        guard tokens.count >= count * length else {
            throw CommandError(
                "\(path) has \(tokens.count) tokens, fewer than \(count) windows of \(length); "
                    + "pass a longer text or fewer or shorter windows")
        }
        let stride = tokens.count / count
        return (0..<count).map { Array(tokens[($0 * stride)..<($0 * stride + length)]) }
    }

    static func table(_ rows: [Row]) -> String {
        var lines = [
            "| configuration | target | skip ratio | agreement | perplexity | policy (cold start/end, k, τ) |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for row in rows {
            let target = row.target_ratio.map { formatted($0, 3) } ?? "–"
            let policy = row.policy.map { "\($0.coldStart)/\($0.coldEnd), \($0.skipCount), \($0.threshold)" } ?? "–"
            lines.append(
                "| \(row.label) | \(target) | \(formatted(row.skip_ratio, 3)) | \(formatted(row.agreement, 3)) "
                    + "| \(formatted(row.perplexity, 3)) | \(policy) |")
        }
        return lines.joined(separator: "\n")
    }

    /// Writes one SVG document with two stacked plots: agreement and perplexity against the skip ratio.
    static func writePlot(rows: [Row], to path: String) throws {
        // Each series starts at the configuration without skipping: the plan when there is one, else dense.
        let baseline = rows.filter { $0.rule == "none" }.suffix(1)
        func points(_ rule: String, _ value: (Row) -> Double) -> [(x: Double, y: Double)] {
            (baseline + rows.filter { $0.rule == rule }).map { (x: $0.skip_ratio, y: value($0)) }
        }
        var panels: [String] = []
        for (title, label, value) in [
            ("Token agreement with dense greedy decoding", "top-1 agreement", { (row: Row) in row.agreement }),
            ("Held-out perplexity, decoded token by token", "perplexity", { (row: Row) in row.perplexity }),
        ] {
            var plot = SVGLinePlot(title: title, xLabel: "FFN skip ratio", yLabel: label)
            plot.addSeries("adaptive (FFN-SkipLLM)", points: points("adaptive", value))
            plot.addSeries("random", points: points("random", value))
            panels.append(plot.render())
        }
        let height = 400
        var document =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"\(height * panels.count)\">\n"
        for (index, panel) in panels.enumerated() {
            // Nested <svg> elements placed by x and y stack the two standalone plots.
            let opening = panel.range(of: "<svg ")!  // !-safe: SVGLinePlot.render starts with an <svg> element.
            document += panel.replacingCharacters(in: opening, with: "<svg x=\"0\" y=\"\(index * height)\" ") + "\n"
        }
        document += "</svg>\n"
        do {
            try Data(document.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandError("cannot write the SVG plot to \(path): \(error)")
        }
    }
}
