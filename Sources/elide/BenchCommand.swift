import ElideEngine
import ElideModels
import ElideSupport
import ElideTensor
import Foundation

/// Measures prefill and decode speed the way llama-bench does: prefill of N random tokens in one batch,
/// and decode of M tokens one at a time from an empty cache, each repeated and averaged.
enum BenchCommand {
    static let spec = CommandSpec(
        name: "bench", summary: "Measure prefill and decode tokens per second (as llama-bench pp/tg).",
        options: ModelOptions.specs + [
            OptionSpec("prompt-tokens", value: "N", help: "Tokens in the prefill test (0 skips it).", default: "512"),
            OptionSpec("gen-tokens", value: "N", help: "Tokens in the decode test (0 skips it).", default: "128"),
            OptionSpec(
                "repetitions", value: "N", help: "Timed repetitions of each test after one warm-up.", default: "3"),
            OptionSpec("seed", value: "S", help: "Seed for the random prompt tokens.", default: "1"),
            FeedForwardSkipOptions.policySpec,
            OptionSpec(
                "batch", value: "LIST",
                help: "Comma-separated batch sizes (for example 1,4,8): measure decoding of that many sequences at "
                    + "once instead of the prefill and decode tests."),
            OptionSpec(
                "batch-strategy", value: "LIST",
                help: "With --batch: comma-separated modes among masked, regrouped (batched FFN strategies) and "
                    + "sequential (one sequence after another).",
                default: "masked,regrouped,sequential"),
            .flag("json", help: "Print the result as one JSON object."),
        ])

    struct Report: Encodable {
        let prefill_tokens_per_second: Double?
        let prefill_stddev: Double?
        let decode_tokens_per_second: Double?
        let decode_stddev: Double?
        let prompt_tokens: Int
        let gen_tokens: Int
        let threads: Int
        let activations: String
        let repetitions: Int
        /// Skip ratio of the timed decode repetitions, when a policy is set.
        let ffn_skip_ratio: Double?
        let plan: String?
        let ffn_skip: String?
    }

    static func run(_ arguments: ArraySlice<String>) throws -> Int32 {
        guard let options = try parseOrHelp(spec, arguments) else { return ExitCode.success }
        let promptTokens = try options.int("prompt-tokens") ?? 512
        let genTokens = try options.int("gen-tokens") ?? 128
        let repetitions = try options.int("repetitions") ?? 3
        guard promptTokens >= 0, genTokens >= 0, repetitions >= 1 else {
            throw UsageError("--prompt-tokens and --gen-tokens must be 0 or more and --repetitions at least 1")
        }
        let threads = try ModelOptions.threads(options)
        let precision = try ModelOptions.precision(options)
        let loaded = try LoadedModel(path: try options.required("model"))
        let model = loaded.model
        let mask = try ModelOptions.mask(options, model: model)
        let skipPolicy = try FeedForwardSkipOptions.policy(options, model: model)
        let pool = ThreadPool(threads: threads)
        var generator = SeededGenerator(seed: UInt64(options.string("seed") ?? "1") ?? 1)
        let vocabulary = model.configuration.vocabularySize
        if let sizes = options.string("batch") {
            return try runBatched(
                options, sizes: sizes, model: model, mask: mask, precision: precision, pool: pool, policy: skipPolicy,
                genTokens: genTokens, repetitions: repetitions)
        }

        let capacity = max(promptTokens, genTokens, 1)
        let session = LlamaSession(model: model, capacity: capacity, precision: precision, mask: mask, pool: pool)

        var prefillRates: [Double] = []
        if promptTokens > 0 {
            let prompt = (0..<promptTokens).map { _ in Int(generator.next() % UInt64(vocabulary)) }
            for repetition in 0...repetitions {
                session.reset()
                let start = MonotonicClock.now()
                session.forward(prompt, logits: .last)
                let rate = Double(promptTokens) / MonotonicClock.seconds(since: start)
                if repetition > 0 { prefillRates.append(rate) }
            }
        }

        var decodeRates: [Double] = []
        var skipCount = FeedForwardSkipCount()
        if genTokens > 0 {
            for repetition in 0...repetitions {
                session.reset()
                var token = Int(generator.next() % UInt64(vocabulary))
                // Decoding starts from an empty cache, so the first step produces generated token 0.
                var skipper = skipPolicy.map {
                    FeedForwardSkipper(rule: .adaptive($0), mask: session.mask, firstTokenIndex: 0)
                }
                let start = MonotonicClock.now()
                for _ in 0..<genTokens {
                    if skipper != nil {
                        session.decode(token, skipper: &skipper!) { logits in token = TokenSampler.argmax(logits) }
                    } else {
                        session.forward(
                            [token], logits: .last, onLogits: { _, logits in token = TokenSampler.argmax(logits) })
                    }
                }
                let rate = Double(genTokens) / MonotonicClock.seconds(since: start)
                if repetition > 0 {
                    decodeRates.append(rate)
                    skipCount += skipper?.count ?? FeedForwardSkipCount()
                }
            }
        }

        let report = Report(
            prefill_tokens_per_second: mean(prefillRates), prefill_stddev: standardDeviation(prefillRates),
            decode_tokens_per_second: mean(decodeRates), decode_stddev: standardDeviation(decodeRates),
            prompt_tokens: promptTokens, gen_tokens: genTokens, threads: threads, activations: precision.rawValue,
            repetitions: repetitions, ffn_skip_ratio: skipPolicy != nil && genTokens > 0 ? skipCount.ratio : nil,
            plan: options.string("plan"), ffn_skip: options.string("ffn-skip"))
        if options.flag("json") {
            print(try jsonLine(report))
        } else {
            if let rate = report.prefill_tokens_per_second {
                print("pp\(promptTokens): \(formatted(rate, 1)) ± \(formatted(report.prefill_stddev ?? 0, 1)) tokens/s")
            }
            if let rate = report.decode_tokens_per_second {
                print("tg\(genTokens): \(formatted(rate, 1)) ± \(formatted(report.decode_stddev ?? 0, 1)) tokens/s")
            }
            if let ratio = report.ffn_skip_ratio {
                print("FFN skip ratio over the timed decode steps after the warm-up: \(formatted(ratio, 3))")
            }
            print("threads \(threads), activations \(precision.rawValue), \(repetitions) repetitions")
        }
        return ExitCode.success
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    static func standardDeviation(_ values: [Double]) -> Double? {
        guard let mean = mean(values), values.count > 1 else { return values.isEmpty ? nil : 0 }
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
        return variance.squareRoot()
    }
}

// MARK: - Batched decoding

extension BenchCommand {
    struct BatchReport: Encodable {
        struct Row: Encodable {
            let batch: Int
            let mode: String
            /// Generated tokens per second summed over the batch's sequences.
            let decode_tokens_per_second: Double
            let decode_stddev: Double
            let ffn_skip_ratio: Double?
            /// Rows multiplied by FFN weights per kept FFN block; 0 in sequential mode.
            let ffn_rows_per_block: Double?
            /// Fraction of kept FFN blocks that ran their products; 0 in sequential mode.
            let ffn_products_per_block: Double?
        }
        let rows: [Row]
        let gen_tokens: Int
        let threads: Int
        let activations: String
        let repetitions: Int
        let plan: String?
        let ffn_skip: String?
    }

    /// Measures decoding of several sequences at once for each batch size in `sizes` and each mode of
    /// `--batch-strategy`, interleaved within each repetition.
    static func runBatched(
        _ options: ParsedOptions, sizes: String, model: LlamaModel, mask: SubBlockMask?,
        precision: ActivationPrecision, pool: ThreadPool, policy: FeedForwardSkipPolicy?, genTokens: Int,
        repetitions: Int
    ) throws -> Int32 {
        let batchSizes = sizes.split(separator: ",").map { Int($0) }
        guard !batchSizes.isEmpty, batchSizes.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw UsageError("invalid value '\(sizes)' for --batch: expected batch sizes of 1 or more, such as 1,4,8")
        }
        let modeNames = (options.string("batch-strategy") ?? "masked,regrouped,sequential").split(separator: ",")
        let modes = try modeNames.map { name in
            guard let mode = BatchDecodeBenchmark.Mode(name: String(name)) else {
                throw UsageError(
                    "invalid mode '\(name)' in --batch-strategy: expected masked, regrouped or sequential")
            }
            return mode
        }
        guard genTokens >= 1 else { throw UsageError("--gen-tokens must be 1 or more with --batch") }

        let benchmark = BatchDecodeBenchmark(
            model: model, mask: mask, precision: precision, pool: pool, policy: policy, generatedTokens: genTokens,
            seed: UInt64(options.string("seed") ?? "1") ?? 1)
        let measurements = benchmark.run(
            batchSizes: batchSizes.map { $0! }, modes: modes, repetitions: repetitions)  // !-safe: checked above.
        let rows = measurements.map { measurement in
            let work = measurement.statistics
            let blocks = Double(max(work.feedForwardBlocks, 1))
            let batched = measurement.mode != .sequential
            return BatchReport.Row(
                batch: measurement.batchSize, mode: measurement.mode.description,
                decode_tokens_per_second: mean(measurement.tokensPerSecond) ?? 0,
                decode_stddev: standardDeviation(measurement.tokensPerSecond) ?? 0,
                ffn_skip_ratio: policy != nil ? measurement.skipCount.ratio : nil,
                ffn_rows_per_block: batched ? Double(work.feedForwardRows) / blocks : nil,
                ffn_products_per_block: batched ? Double(work.feedForwardProducts) / blocks : nil)
        }
        let report = BatchReport(
            rows: rows, gen_tokens: genTokens, threads: pool.threads, activations: precision.rawValue,
            repetitions: repetitions, plan: options.string("plan"), ffn_skip: options.string("ffn-skip"))
        if options.flag("json") {
            print(try jsonLine(report))
            return ExitCode.success
        }
        print("batch  mode        tokens/s (summed)  skip ratio  FFN rows/block  FFN products/block")
        for row in rows {
            let rate = "\(formatted(row.decode_tokens_per_second, 1)) ± \(formatted(row.decode_stddev, 1))"
            let columns = [
                String(row.batch).padding(toLength: 7, withPad: " ", startingAt: 0),
                row.mode.padding(toLength: 12, withPad: " ", startingAt: 0),
                rate.padding(toLength: 19, withPad: " ", startingAt: 0),
                (row.ffn_skip_ratio.map { formatted($0, 3) } ?? "-").padding(toLength: 12, withPad: " ", startingAt: 0),
                (row.ffn_rows_per_block.map { formatted($0, 2) } ?? "-").padding(
                    toLength: 16, withPad: " ", startingAt: 0),
                row.ffn_products_per_block.map { formatted($0, 3) } ?? "-",
            ]
            print(columns.joined())
        }
        print(
            "tg\(genTokens) per sequence, threads \(pool.threads), activations \(precision.rawValue), "
                + "\(repetitions) repetitions interleaved")
        return ExitCode.success
    }
}
