import ElideEngine
import ElideModels
import ElideSupport
import ElideTensor
import Foundation

/// `elide calibrate ffn-skip`: picks an FFN skip policy that reaches a target skip ratio.
enum CalibrateCommand {
    static let spec = CommandSpec(
        name: "calibrate ffn-skip",
        summary: """
            Pick FFN-SkipLLM's cold regions, skip count k and threshold τ for a target skip ratio.

              The skip ratio is skipped FFN blocks over the FFN blocks the plan keeps, counted over the decode
              steps after the warm-up. The command decodes the calibration sequences densely (teacher forcing,
              the first --prompt-tokens as a prefill) and records cos(h, h + FFN(h)) for every block. For each
              cold start and cold end in 1...--max-cold and each k in --skip-counts it bisects τ until replaying
              the rule on those cosines reaches the target, and keeps the candidate whose skipped blocks have the
              smallest summed relative update ‖FFN(h)‖/‖h + FFN(h)‖. Then --refine-passes real decodes with the
              policy active correct τ for the states that skipping changes. Progress goes to stderr.
            """,
        options: ModelOptions.specs + [
            OptionSpec("target-skip", value: "R", help: "Target skip ratio, between 0 and 1.", default: "0.25"),
            OptionSpec(
                "calibration", value: "FILES",
                help: "Comma-separated UTF-8 text files (default: emma, mansfield-park, northanger-abbey and "
                    + "sense-and-sensibility under $ELIDE_HOME/text/austen)."),
            OptionSpec("out", value: "FILE", help: "Policy file to write.", default: "ffn-skip-policy.json"),
            OptionSpec(
                "warmup", value: "N", help: "Generated tokens decoded densely before skipping starts.", default: "16"),
            OptionSpec("sequences", value: "N", help: "Calibration sequences, spread over the texts.", default: "4"),
            OptionSpec("sequence-length", value: "N", help: "Tokens per calibration sequence.", default: "256"),
            OptionSpec(
                "prompt-tokens", value: "N", help: "Tokens of each sequence given as the prefill.", default: "32"),
            OptionSpec(
                "max-cold", value: "N",
                help: "Largest cold start and cold end tried (default: a quarter of the layers)."),
            OptionSpec("skip-counts", value: "LIST", help: "Comma-separated values of k tried.", default: "1,2,3,4"),
            OptionSpec(
                "refine-passes", value: "N", help: "Real decodes with the policy active that correct τ.", default: "3"),
            .flag("json", help: "Print the policy and the calibration figures as one JSON object."),
        ])

    struct Report: Encodable {
        let policy_file: String
        let warmup_tokens: Int
        let cold_start: Int
        let cold_end: Int
        let threshold: Float
        let skip_count: Int
        let target_ratio: Double
        let replay_ratio: Double
        let measured_ratio: Double?
        let estimated_damage: Double
        let passes: [FeedForwardSkipCalibrator.Pass]
        let candidates: Int
        let feasible_candidates: Int
        let calibration_tokens: Int
        let seconds: Double
    }

    static func run(_ arguments: ArraySlice<String>) throws -> Int32 {
        guard arguments.first == "ffn-skip" else {
            throw UsageError("unknown calibration '\(arguments.first ?? "")'; available: elide calibrate ffn-skip")
        }
        guard let options = try parseOrHelp(spec, arguments.dropFirst()) else { return ExitCode.success }
        let settings = try calibrationSettings(options)
        let sequenceCount = try FeedForwardSkipOptions.count(options, "sequences", minimum: 1)
        let sequenceLength = try FeedForwardSkipOptions.count(options, "sequence-length", minimum: 2)
        let outPath = options.string("out") ?? "ffn-skip-policy.json"
        let threads = try ModelOptions.threads(options)
        let precision = try ModelOptions.precision(options)

        let start = MonotonicClock.now()
        let loaded = try LoadedModel(path: try options.required("model"))
        let mask = try ModelOptions.mask(options, model: loaded.model)
        let paths = FeedForwardSkipOptions.paths(
            options.string("calibration"), defaults: CalibrationSet.defaultCalibrationFiles)
        let sequences = try FeedForwardSkipOptions.sequences(
            paths: paths, tokenizer: loaded.tokenizer, count: sequenceCount, length: sequenceLength)
        printError("calibrate: \(sequenceCount) sequences of \(sequenceLength) tokens from \(paths.count) files")

        let calibrator = FeedForwardSkipCalibrator(
            model: loaded.model, mask: mask, precision: precision, pool: ThreadPool(threads: threads))
        let calibration = try calibrator.calibrate(sequences: sequences, settings: settings) { line in
            printError("calibrate: " + line)
        }
        try calibration.policy.write(to: outPath)

        let policy = calibration.policy
        let report = Report(
            policy_file: outPath, warmup_tokens: policy.warmupTokens, cold_start: policy.coldStart,
            cold_end: policy.coldEnd, threshold: policy.threshold, skip_count: policy.skipCount,
            target_ratio: calibration.targetRatio, replay_ratio: calibration.replayRatio,
            measured_ratio: calibration.measuredRatio, estimated_damage: calibration.estimatedDamage,
            passes: calibration.passes, candidates: calibration.candidates,
            feasible_candidates: calibration.feasibleCandidates, calibration_tokens: sequenceCount * sequenceLength,
            seconds: MonotonicClock.seconds(since: start))
        if options.flag("json") {
            print(try jsonLine(report))
        } else {
            let measured = calibration.measuredRatio.map { formatted($0, 3) } ?? "not measured"
            print(
                "wrote \(outPath): cold_start \(policy.coldStart), cold_end \(policy.coldEnd), k \(policy.skipCount), "
                    + "threshold \(policy.threshold), warm-up \(policy.warmupTokens) tokens")
            print(
                "skip ratio on the calibration text: \(measured) measured, \(formatted(calibration.replayRatio, 3)) "
                    + "replayed, target \(formatted(calibration.targetRatio, 3))")
        }
        return ExitCode.success
    }

    /// Reads the calibrator's settings from the options.
    static func calibrationSettings(_ options: ParsedOptions) throws -> FeedForwardSkipCalibrator.Settings {
        let target = try options.double("target-skip") ?? 0.25
        guard target > 0 && target < 1 else {
            throw UsageError("invalid value '\(target)' for --target-skip: expected a ratio strictly between 0 and 1")
        }
        var settings = FeedForwardSkipCalibrator.Settings(targetRatio: target)
        settings.warmupTokens = try FeedForwardSkipOptions.count(options, "warmup", minimum: 0)
        settings.promptTokens = try FeedForwardSkipOptions.count(options, "prompt-tokens", minimum: 1)
        settings.refinementPasses = try FeedForwardSkipOptions.count(options, "refine-passes", minimum: 0)
        if options.string("max-cold") != nil {
            settings.maxColdLayers = try FeedForwardSkipOptions.count(options, "max-cold", minimum: 1)
        }
        let counts = (options.string("skip-counts") ?? "1,2,3,4").split(separator: ",").map { Int($0) }
        guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw UsageError(
                "invalid value '\(options.string("skip-counts") ?? "")' for --skip-counts: "
                    + "expected comma-separated whole numbers of 1 or more, for example 1,2,3")
        }
        settings.skipCounts = counts.map { $0! }  // !-safe: every entry was checked to be a number above.
        return settings
    }
}
