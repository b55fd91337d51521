import ElideEngine
import ElideSearch
import ElideSupport
import Foundation

/// Builds the report of a finished `evopress` job: JSON values for machines, a comparison table as the summary
/// and an SVG plot of the best fitness per generation under `plot_svg`.
///
/// Everything except `timings` depends only on the options, the seed and the task outputs' values.
struct EvoPressReport {
    let driver: EvoPressDriver

    /// Configurations in table order, with the names the table prints.
    static let labels: [String: String] = [
        "dense": "dense", "evopress": "EvoPress", "shortgpt": "ShortGPT", "window": "sliding window",
        "random": "random", "bruteforce": "brute force",
    ]

    func report() throws -> JobReport {
        guard let evoPress = driver.evoPress, let space = driver.space, let facts = driver.facts else {
            throw JobDriverError("evopress report requested before the search finished")
        }
        var values: [String: JSONValue] = [:]

        var perplexities: [String: JSONValue] = [:]
        var plans: [String: JSONValue] = [:]
        for name in driver.expectedConfigurations {
            perplexities[name] = (driver.heldOut[name]?.perplexity).map(JSONValue.number) ?? .null
            if let plan = driver.plans[name] { plans[name] = try Self.json(plan) }
        }
        values["heldout_perplexity"] = .object(perplexities)
        values["plan"] = plans["evopress"] ?? .null
        values["plans"] = .object(plans)
        values["generations"] = .array(
            evoPress.history.map { record in
                .object([
                    "generation": .number(Double(record.generation)), "best_fitness": .number(record.bestFitness),
                    "median_fitness": .number(record.medianFitness),
                    "evaluations": .number(Double(record.evaluationCount)),
                    "tokens": .number(Double(record.tokenCount)),
                ])
            })
        values["fitness"] = .object([
            "evopress": evoPress.best.map { .number($0.fitness) } ?? .null,
            "random": driver.random?.best.map { .number($0.fitness) } ?? .null,
        ])
        values["teacher"] = .string(teacherDescription)
        values["search"] = .object(searchDescription(evoPress, space))
        values["heldout"] = .object([
            "tokens": .number(Double(driver.settings.environment.evaluationTokens)),
            "scored": .number(Double(driver.heldOut["dense"]?.scoredTokens ?? 0)),
            "context": .number(Double(driver.settings.context)),
            "documents": .array(facts.evaluationDocuments.map(JSONValue.string)),
        ])
        values["timings"] = .object(timings)
        if let bruteForce = driver.bruteForce {
            values["brute_force"] = .object(try bruteForceDescription(bruteForce, evoPress))
        }
        values["plot_svg"] = .string(plot(evoPress))
        return JobReport(summary: table(evoPress, space), values: values)
    }

    // MARK: - Values

    var teacherDescription: String {
        switch (try? TeacherMode(parsing: driver.settings.environment.teacher)) ?? .exact {
        case .exact: "fp16 exact"
        case .topK(let k): "top-K K=\(k)"
        }
    }

    private func searchDescription(_ evoPress: EvoPressSearch, _ space: DepthSearchSpace) -> [String: JSONValue] {
        [
            "unit": .string(space.unit.rawValue), "layers": .number(Double(space.layerCount)),
            "dropped_attention": .number(Double(space.droppedAttentionCount)),
            "dropped_mlp": .number(Double(space.droppedMLPCount)),
            "configurations": .number(Double(space.configurationCount)),
            "schedule": .string(evoPress.configuration.schedule.description),
            "initialisation": .string(driver.settings.initialisation.rawValue),
            "generations": .number(Double(evoPress.configuration.generationCount)),
            "seed": .string(String(driver.seed)),
            "calibration_sequences": .number(Double(driver.poolToCalibration.count)),
            "random_candidates": .number(Double(driver.randomCandidateCount(in: space))),
            "random_tokens": .number(Double(driver.settings.effectiveRandomTokens)),
        ]
    }

    /// Wall seconds per stage from the workers' clocks, and the summed task seconds under `worker_seconds`.
    private var timings: [String: JSONValue] {
        var values: [String: JSONValue] = [:]
        var workerSeconds: [String: JSONValue] = [:]
        for (stage, span) in driver.clocks.spans {
            values[stage] = .number(span.wallSeconds)
            workerSeconds[stage] = .number(span.workerSeconds)
        }
        values["total"] = .number(driver.clocks.totalSeconds)
        values["worker_seconds"] = .object(workerSeconds)
        values["generation_seconds"] = .array(driver.generationSeconds.map(JSONValue.number))
        return values
    }

    private func bruteForceDescription(_ bruteForce: BruteForceSearch, _ evoPress: EvoPressSearch) throws
        -> [String: JSONValue]
    {
        guard let optimum = bruteForce.best else { return [:] }
        let ranking = bruteForce.ranking
        let finalGenome = evoPress.best?.genome
        let rank = ranking.firstIndex { $0.genome == finalGenome }
        let found = evoPress.history.first { $0.bestGenome == optimum.genome }?.generation
        return [
            "optimum_plan": try Self.json(try driver.plan(for: optimum.genome)),
            "optimum_fitness": .number(optimum.fitness),
            "configurations": .number(Double(ranking.count)),
            "evopress_rank": rank.map { .number(Double($0 + 1)) } ?? .null,
            "evopress_fitness_on_brute_force_minibatch": rank.map { .number(ranking[$0].fitness) } ?? .null,
            "found_at_generation": found.map { .number(Double($0)) } ?? .null,
        ]
    }

    static func json(_ value: some Encodable) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: try EvoPressCoding.encoder.encode(value))
    }

    // MARK: - Table

    private func table(_ evoPress: EvoPressSearch, _ space: DepthSearchSpace) -> String {
        let settings = driver.settings
        let model = (settings.environment.modelPath as NSString).lastPathComponent
        let documents = (driver.facts?.evaluationDocuments ?? []).map { ($0 as NSString).lastPathComponent }
        var lines = [
            "EvoPress on \(model): drop \(space.droppedSubBlockCount) of \(2 * space.layerCount) sub-blocks "
                + "(\(space.droppedAttentionCount) attention, \(space.droppedMLPCount) MLP) as \(space.unit.rawValue) "
                + "units; schedule \(evoPress.configuration.schedule.description); "
                + "\(evoPress.configuration.generationCount) generations; seed \(driver.seed); teacher "
                + teacherDescription + "; initialised with the " + driver.settings.initialisation.description,
            "Held-out perplexity on \(driver.heldOut["dense"]?.scoredTokens ?? 0) predictions of "
                + "\(documents.joined(separator: ", ")) (windows of \(settings.context) tokens):",
            "",
        ]

        let dense = driver.heldOut["dense"]?.perplexity
        let fitness: [String: Double] = [
            "evopress": evoPress.best?.fitness, "random": driver.random?.best?.fitness,
            "bruteforce": driver.bruteForce?.best?.fitness,
        ].compactMapValues { $0 }
        var rows = [["method", "perplexity", "× dense", "search KL", "dropped"]]
        for name in driver.expectedConfigurations {
            let perplexity = driver.heldOut[name]?.perplexity
            rows.append([
                name == "random"
                    ? "random-\(driver.space.map(driver.randomCandidateCount) ?? 0)" : Self.labels[name] ?? name,
                perplexity.map { String(format: "%.2f", $0) } ?? "—",
                perplexity.flatMap { value in dense.map { String(format: "%.2f", value / $0) } } ?? "—",
                fitness[name].map { String(format: "%.4f", $0) } ?? "—",
                driver.plans[name].map(Self.describe) ?? "—",
            ])
        }
        lines += Self.align(rows)

        lines.append("")
        lines.append(verdict)
        lines.append(
            "search KL: mean KL(dense ‖ plan) per token on the search's own last minibatch (calibration text); "
                + "the rows use different minibatches.")
        lines.append("time: " + timingLine)
        return lines.joined(separator: "\n")
    }

    /// Whether EvoPress's held-out perplexity is below every baseline's.
    private var verdict: String {
        guard let evoPress = driver.heldOut["evopress"]?.perplexity else { return "" }
        let baselines = ["shortgpt", "window", "random"].compactMap { name in
            driver.heldOut[name]?.perplexity.map { (name, $0) }
        }
        let beaten = baselines.filter { evoPress < $0.1 }.map { Self.labels[$0.0] ?? $0.0 }
        let notBeaten = baselines.filter { evoPress >= $0.1 }.map { Self.labels[$0.0] ?? $0.0 }
        if notBeaten.isEmpty { return "EvoPress has the lowest held-out perplexity of all plans." }
        return "EvoPress is not below: \(notBeaten.joined(separator: ", "))"
            + (beaten.isEmpty ? "." : "; it is below: \(beaten.joined(separator: ", ")).")
    }

    private var timingLine: String {
        let order = ["dense_check", "baseline_statistics", "brute_force", "evopress", "random", "heldout"]
        let parts = order.compactMap { stage in
            driver.clocks.spans[stage].map { "\(stage) \(EvoPressProgress.duration($0.wallSeconds))" }
        }
        return parts.joined(separator: ", ")
            + ", total \(EvoPressProgress.duration(driver.clocks.totalSeconds)) (wall clock; stages overlap)"
    }

    /// `attention 3,7 | MLP 12`, or `none`.
    static func describe(_ plan: CompressionPlan) -> String {
        var parts: [String] = []
        if !plan.attentionDropped.isEmpty {
            parts.append("attention " + plan.attentionDropped.map(String.init).joined(separator: ","))
        }
        if !plan.mlpDropped.isEmpty { parts.append("MLP " + plan.mlpDropped.map(String.init).joined(separator: ",")) }
        return parts.isEmpty ? "none" : parts.joined(separator: " | ")
    }

    /// Left-aligns the first and last columns and right-aligns the others.
    static func align(_ rows: [[String]]) -> [String] {
        guard let columns = rows.first?.count else { return [] }
        let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 || column == columns - 1 ? cell + padding : padding + cell
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }

    // MARK: - Plot

    private func plot(_ evoPress: EvoPressSearch) -> String {
        var plot = SVGLinePlot(
            title: "EvoPress: fitness per generation", xLabel: "generation (0 = initialisation)",
            yLabel: "KL(dense ‖ candidate) per token")
        plot.addSeries("best", points: evoPress.history.map { (Double($0.generation), $0.bestFitness) })
        plot.addSeries(
            "median of offspring", points: evoPress.history.map { (Double($0.generation), $0.medianFitness) })
        return plot.render()
    }
}
