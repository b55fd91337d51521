import ElideSupport
import Foundation

/// `elide compare JOB|REPORT...`: one table row per finished `federated` job, read from the cluster by job id
/// or from a `report.json` file (or a folder holding one), and optionally a plot of their accuracy curves.
enum CompareCommand {
    struct Row: Sendable, Equatable {
        var name: String
        var algorithm: String
        var dataset: String
        var rounds: Int
        var meanAccuracy: Double
        var accuracyStandardDeviation: Double
        var worstTenPercentAccuracy: Double
        var totalBytes: Double
        var secondsPerRound: Double
        /// Mean accuracy per round, round 0 first.
        var curve: [Double]
    }

    static let spec = CommandSpec(
        name: "compare", summary: "Compare finished federated jobs: final accuracy, fairness, bytes and time.",
        options: ClusterCommandLine.connectionOptions + [
            .flag("json", help: "Print the rows as JSON."),
            .flag("markdown", help: "Print the table as Markdown."),
            OptionSpec("svg", value: "PATH", help: "Also write the mean accuracy per round of every job to PATH."),
        ], positionals: ["JOB|REPORT..."])

    static func run(_ arguments: [String]) throws -> Int32 {
        let (optionArguments, sources) = separate(arguments)
        let options = try ClusterCommandLine.parse(optionArguments, spec)
        guard !sources.isEmpty else {
            throw UsageError(
                "missing jobs to compare, for example 'elide compare j1 j2' or 'elide compare a/report.json "
                    + "b/report.json'")
        }
        var client: ClusterClient?
        var rows: [Row] = []
        for source in sources {
            let report: JobReport
            if let job = JobID(parsing: source), !FileManager.default.fileExists(atPath: source) {
                let connected = try client ?? ClusterCommandLine.connect(options)
                client = connected
                let status = try connected.result(job)
                guard status.state == .succeeded, let finished = status.report else {
                    throw UsageError(
                        "job \(job) has no report (\(status.state.rawValue)); 'elide wait \(job)' waits for it")
                }
                report = finished
            } else {
                report = try readReport(source)
            }
            rows.append(try row(report, name: source))
        }

        if let path = options.string("svg") { try OutputPath.checkFile(path, option: "svg") }
        if options.flag("json") {
            try ClusterCommandLine.printJSON(rows.map(jsonValue))
        } else {
            print(table(rows, markdown: options.flag("markdown")))
        }
        if let path = options.string("svg") {
            var plot = SVGLinePlot(title: "mean client test accuracy", xLabel: "round", yLabel: "accuracy")
            for row in rows {
                plot.addSeries(
                    "\(row.algorithm) (\(row.name))", points: row.curve.enumerated().map { (Double($0), $1) })
            }
            try plot.render().write(toFile: path, atomically: true, encoding: .utf8)
            CommandSupport.printError("wrote \(path)")
        }
        return ExitCode.success
    }

    /// Splits arguments into options (with their values) and the job ids or report paths.
    static func separate(_ arguments: [String]) -> (options: [String], sources: [String]) {
        var options: [String] = []
        var sources: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--") else {
                sources.append(argument)
                continue
            }
            options.append(argument)
            let name = String(argument.dropFirst(2))
            if !name.contains("="), spec.options.first(where: { $0.name == name })?.valueName != nil,
                index < arguments.count
            {
                options.append(arguments[index])
                index += 1
            }
        }
        return (options, sources)
    }

    /// Reads a report from `report.json` or from a folder that contains one.
    static func readReport(_ path: String) throws -> JobReport {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw UsageError("'\(path)' is neither a job id (j<number>) nor an existing report file or folder")
        }
        let file = isFolder.boolValue ? path + "/report.json" : path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw UsageError("cannot read \(file); pass a report.json written by 'elide result --out DIR'")
        }
        do {
            return try JSONDecoder().decode(JobReport.self, from: data)
        } catch {
            throw UsageError(
                "\(file) is not a job report (report.json of 'elide result --out DIR' or 'elide submit --out DIR')")
        }
    }

    /// Reads a table row from a `federated` report; other kinds are rejected.
    static func row(_ report: JobReport, name: String) throws -> Row {
        let values = report.values
        func number(_ key: String) throws -> Double {
            guard case .number(let value)? = values[key] else {
                throw UsageError("report \(name) has no number '\(key)'; is it a federated job's report?")
            }
            return value
        }
        func text(_ key: String) throws -> String {
            guard case .string(let value)? = values[key] else {
                throw UsageError("report \(name) has no text '\(key)'; is it a federated job's report?")
            }
            return value
        }
        var secondsPerRound = 0.0
        if case .object(let timings)? = values["timings"], case .number(let value)? = timings["mean_round_seconds"] {
            secondsPerRound = value
        }
        var curve: [Double] = []
        if case .array(let rounds)? = values["round_metrics"] {
            for round in rounds {
                if case .object(let fields) = round, case .number(let mean)? = fields["mean_accuracy"] {
                    curve.append(mean)
                }
            }
        }
        return Row(
            name: name, algorithm: try text("algorithm"), dataset: try text("dataset"),
            rounds: Int(try number("rounds")),
            meanAccuracy: try number("final_mean_accuracy"),
            accuracyStandardDeviation: try number("final_accuracy_std"),
            worstTenPercentAccuracy: try number("final_worst10_accuracy"), totalBytes: try number("total_bytes"),
            secondsPerRound: secondsPerRound, curve: curve)
    }

    static let headers = ["job", "algorithm", "dataset", "rounds", "mean acc", "std", "worst-10%", "bytes", "s/round"]

    static func cells(_ row: Row) -> [String] {
        [
            row.name, row.algorithm, row.dataset, String(row.rounds), String(format: "%.4f", row.meanAccuracy),
            String(format: "%.4f", row.accuracyStandardDeviation), String(format: "%.4f", row.worstTenPercentAccuracy),
            FederatedReport.formatBytes(Int(row.totalBytes)), String(format: "%.2f", row.secondsPerRound),
        ]
    }

    /// Formats the rows as aligned text columns, or as a Markdown table.
    static func table(_ rows: [Row], markdown: Bool) -> String {
        let body = rows.map(cells)
        if markdown {
            var lines = ["| " + headers.joined(separator: " | ") + " |"]
            lines.append("|" + headers.map { _ in "---" }.joined(separator: "|") + "|")
            lines += body.map { "| " + $0.joined(separator: " | ") + " |" }
            return lines.joined(separator: "\n")
        }
        let widths = headers.indices.map { column in
            ([headers[column]] + body.map { $0[column] }).map(\.count).max() ?? 0
        }
        let format = { (cells: [String]) in
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([format(headers)] + body.map(format)).joined(separator: "\n")
    }

    static func jsonValue(_ row: Row) -> JSONValue {
        .object([
            "job": .string(row.name), "algorithm": .string(row.algorithm), "dataset": .string(row.dataset),
            "rounds": .number(Double(row.rounds)), "final_mean_accuracy": .number(row.meanAccuracy),
            "final_accuracy_std": .number(row.accuracyStandardDeviation),
            "final_worst10_accuracy": .number(row.worstTenPercentAccuracy), "total_bytes": .number(row.totalBytes),
            "mean_round_seconds": .number(row.secondsPerRound),
            "mean_accuracy_per_round": .array(row.curve.map { .number($0) }),
        ])
    }
}
