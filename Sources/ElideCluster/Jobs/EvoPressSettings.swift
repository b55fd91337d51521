import ElideEngine
import ElideSearch
import Foundation

/// The inputs every task of an `evopress` job reads, the same for all of its tasks: a worker keys its cached
/// evaluator on them, so tasks of one job share the model, the tokenized texts and the dense caches.
struct EvoPressEnvironment: Codable, Sendable, Hashable {
    var modelPath: String
    var calibrationPaths: [String]
    /// Tokens per calibration sequence; also the window length of held-out perplexity.
    var sequenceLength: Int
    /// `exact` or `top-k:K`, as `TeacherMode(parsing:)` reads it.
    var teacher: String
    /// Compute threads per task. KL values are reproducible bit for bit only at a fixed thread count, so the
    /// job fixes it instead of each worker choosing its own.
    var threads: Int
    var evaluationPaths: [String]
    var evaluationTokens: Int

    /// The key of the worker's cached evaluator for these inputs.
    var evaluatorKey: EvaluatorRegistry.Key {
        get throws {
            let settings = EvaluatorSettings(teacher: try TeacherMode(parsing: teacher))
            return EvaluatorRegistry.Key(
                modelPath: modelPath, calibrationPaths: calibrationPaths, sequenceLength: sequenceLength,
                settings: settings, threads: threads)
        }
    }
}

/// The options of an `evopress` job, parsed and checked.
struct EvoPressSettings: Sendable, Equatable {
    var environment: EvoPressEnvironment
    var unit: DepthSearchUnit
    var target: DropTarget
    var schedule: SearchSchedule
    /// nil: the space's default, ⌊k(n−k)/1.5⌋.
    var generationCount: Int?
    /// Calibration sequences the searches draw their minibatches from; nil: twice the largest minibatch.
    var poolSequenceCount: Int?
    /// Layers the search may drop from, counted from layer 0; nil: all of the model's layers.
    var searchLayerCount: Int?
    var randomCandidateCount: Int
    /// Tokens that score each random candidate; nil: the first selection stage's tokens.
    var randomTokens: Int?
    var bruteForce: Bool
    var initialisation: EvoPressInitialisation
    /// Held-out perplexity windows per task.
    var windowsPerTask: Int

    /// Reads the options of `spec`, with the defaults of `EvoPressJob.options` for those not given.
    init(spec: JobSpec) throws {
        let options = EvoPressOptionReader(spec: spec)
        environment = EvoPressEnvironment(
            modelPath: try options.path("model"),
            calibrationPaths: try options.pathList("calibration"),
            sequenceLength: try options.int("sequence-length", in: 2...65_536),
            teacher: try options.text("teacher"),
            threads: try options.int("threads", in: 1...256),
            evaluationPaths: try options.pathList("eval"),
            evaluationTokens: try options.int("eval-tokens", in: 2...100_000_000))
        do {
            _ = try TeacherMode(parsing: environment.teacher)
        } catch {
            throw JobDriverError("invalid value '\(environment.teacher)' for --teacher: \(error)")
        }

        let unitText = try options.text("unit")
        guard let unit = DepthSearchUnit(rawValue: unitText) else {
            let choices = DepthSearchUnit.allCases.map(\.rawValue).joined(separator: ", ")
            throw JobDriverError("invalid value '\(unitText)' for --unit: expected one of \(choices)")
        }
        self.unit = unit
        target = try options.parsed("drop") { try DropTarget(parsing: $0) }
        schedule = try options.parsed("schedule") { try SearchSchedule(parsing: $0) }
        generationCount = try options.optionalInt("generations", in: 1...1_000_000)
        poolSequenceCount = try options.optionalInt("calibration-sequences", in: 1...1_000_000)
        searchLayerCount = try options.optionalInt("search-layers", in: 1...100_000)
        randomCandidateCount = try options.int("random-candidates", in: 1...100_000)
        randomTokens = try options.optionalInt("random-tokens", in: 2...100_000_000)
        bruteForce = try options.bool("brute-force")
        let initText = try options.text("init")
        guard let initialisation = EvoPressInitialisation(rawValue: initText) else {
            let choices = EvoPressInitialisation.allCases.map(\.rawValue).joined(separator: ", ")
            throw JobDriverError("invalid value '\(initText)' for --init: expected one of \(choices)")
        }
        self.initialisation = initialisation
        windowsPerTask = try options.int("eval-windows-per-task", in: 1...100_000)
    }

    var context: Int { environment.sequenceLength }

    /// Tokens that score each random candidate.
    var effectiveRandomTokens: Int { randomTokens ?? schedule.stages[0].tokens }

    /// The pool size used when `--calibration-sequences` is not given: twice the sequences of the largest
    /// minibatch, so consecutive minibatches differ while every worker's dense cache stays bounded.
    var defaultPoolSequenceCount: Int {
        let largest = ([schedule.initialTokens, effectiveRandomTokens] + schedule.stages.map(\.tokens)).max() ?? 1
        return 2 * ((largest + context - 1) / context)
    }
}

/// The candidates EvoPress scores at initialisation.
enum EvoPressInitialisation: String, CaseIterable, Sendable {
    /// Random genomes only, as EvoPress's reference code does.
    case random
    /// The sliding-window and ShortGPT plans ahead of the random genomes. The search then starts from the
    /// better baseline instead of the best random plan, and waits for the baseline statistics to start.
    case baselines

    var description: String {
        switch self {
        case .random: "best of the random candidates"
        case .baselines: "best of the sliding-window plan, the ShortGPT plan and the random candidates"
        }
    }
}

/// Reads option text from a spec, falling back to the defaults of `EvoPressJob.options`.
struct EvoPressOptionReader {
    let spec: JobSpec

    func text(_ name: String) throws -> String {
        if let value = spec.options[name] { return value }
        if let fallback = EvoPressJob.options.first(where: { $0.name == name })?.defaultValue { return fallback }
        throw JobDriverError("missing option --\(name) for job kind 'evopress'")
    }

    func int(_ name: String, in range: ClosedRange<Int>) throws -> Int {
        let value = try text(name)
        guard let number = Int(value), range.contains(number) else {
            throw JobDriverError(
                "invalid value '\(value)' for --\(name): expected a whole number in \(range.lowerBound)..."
                    + "\(range.upperBound)")
        }
        return number
    }

    /// Reads a whole number, or nil for `auto`.
    func optionalInt(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        try text(name) == "auto" ? nil : try int(name, in: range)
    }

    /// Reads a flag: absent or `false`/`no`/`0` is false, and present with no value or `true`/`yes`/`1` is true.
    func bool(_ name: String) throws -> Bool {
        guard let value = spec.options[name] else { return false }
        switch value.lowercased() {
        case "", "true", "yes", "1": return true
        case "false", "no", "0": return false
        default: throw JobDriverError("invalid value '\(value)' for --\(name): expected true or false")
        }
    }

    func path(_ name: String) throws -> String {
        let value = try text(name)
        guard !value.isEmpty else { throw JobDriverError("empty value for --\(name): give a file path") }
        return value
    }

    /// Reads comma-separated paths, at least one.
    func pathList(_ name: String) throws -> [String] {
        let paths = try text(name).split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard !paths.isEmpty else {
            throw JobDriverError("empty value for --\(name): give one or more file paths separated by commas")
        }
        return paths
    }

    /// Runs `parse` on the option's text and names the option in its error.
    func parsed<Value>(_ name: String, _ parse: (String) throws -> Value) throws -> Value {
        let value = try text(name)
        do {
            return try parse(value)
        } catch {
            throw JobDriverError("invalid value '\(value)' for --\(name): \(error)")
        }
    }
}
