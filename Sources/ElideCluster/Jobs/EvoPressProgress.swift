import Foundation

/// Wall-clock spans of an `evopress` job's stages, from the start and finish times that workers put into their
/// task outputs.
///
/// The driver reads no clock, so these come from the outputs, which the journal stores and replays. They
/// depend on the run, unlike the rest of the report, and only the timings and the progress line use them.
struct EvoPressStageClocks: Sendable {
    struct Span: Sendable {
        var firstStart: Double
        var lastFinish: Double
        /// Σ task durations: the compute the stage cost, over all workers.
        var workerSeconds: Double
        var tasks: Int

        var wallSeconds: Double { max(0, lastFinish - firstStart) }
    }

    private(set) var spans: [String: Span] = [:]
    /// Start of the current EvoPress generation's span, which is the end of the previous one.
    private var generationMark: Double?

    mutating func record(stage: String, startedAt: Double, finishedAt: Double) {
        let duration = max(0, finishedAt - startedAt)
        if var span = spans[stage] {
            span.firstStart = min(span.firstStart, startedAt)
            span.lastFinish = max(span.lastFinish, finishedAt)
            span.workerSeconds += duration
            span.tasks += 1
            spans[stage] = span
        } else {
            spans[stage] = Span(firstStart: startedAt, lastFinish: finishedAt, workerSeconds: duration, tasks: 1)
        }
    }

    /// Returns the seconds since the previous generation ended (or since EvoPress's first task started) and
    /// starts the next generation's span. Tasks of a generation exist only once the previous one is submitted,
    /// so the latest EvoPress finish time at this point belongs to the generation that just ended.
    mutating func closeGeneration() -> Double {
        guard let span = spans[EvoPressDriver.SearchName.evoPress.rawValue] else { return 0 }
        let start = generationMark ?? span.firstStart
        generationMark = span.lastFinish
        return max(0, span.lastFinish - start)
    }

    /// From the first task's start to the last task's finish over all stages.
    var totalSeconds: Double {
        guard let first = spans.values.map(\.firstStart).min(), let last = spans.values.map(\.lastFinish).max()
        else { return 0 }
        return max(0, last - first)
    }
}

/// The progress line of an `evopress` job: the phase, and during the search the last generation's best and
/// median fitness, its evaluations, candidate tokens per second and the estimated time left for the search.
enum EvoPressProgress {
    static func detail(_ driver: EvoPressDriver) -> String {
        guard let evoPress = driver.evoPress else {
            return driver.isDenseChecked
                ? "computing the baseline statistics that seed the search"
                : "checking the dense model's held-out perplexity"
        }
        if let bruteForce = driver.bruteForce, !bruteForce.isFinished {
            return "brute force: scoring \(bruteForce.space.configurationCount) configurations"
        }
        guard !evoPress.isFinished else {
            let done = driver.heldOut.values.filter(\.isComplete).count
            return "held-out perplexity: \(done)/\(driver.expectedConfigurations.count) configurations done"
        }
        guard let last = evoPress.history.last else { return "initialisation" }

        let generations = evoPress.configuration.generationCount
        var text = "generation \(last.generation)/\(generations) best \(format(last.bestFitness)) "
        text += "median \(format(last.medianFitness)) evaluations \(last.evaluationCount)"
        // Generation 0 is initialisation, whose time `generationSeconds[0]` measures.
        if let seconds = driver.generationSeconds.last, seconds > 0 {
            text += " tokens/s \(Int((Double(last.tokenCount) / seconds).rounded()))"
            let timed = driver.generationSeconds.dropFirst()
            if !timed.isEmpty {
                let mean = timed.reduce(0, +) / Double(timed.count)
                text += " ETA \(duration(mean * Double(generations - last.generation)))"
            }
        }
        return text
    }

    static func format(_ value: Double) -> String { String(format: "%.4f", value) }

    /// Seconds as `42s`, `3m07s` or `1h05m`.
    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60)
    }
}
