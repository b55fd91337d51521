import ElideSupport
import Foundation

/// `elide submit KIND [options] [--wait] [--local]`.
enum SubmitCommand {
    static let commonOptions: [OptionSpec] = [
        OptionSpec("seed", value: "S", help: "Seed of every random choice in the job.", default: "1"),
        .flag("wait", help: "Wait for the job to finish, show progress and print its report."),
        .flag("local", help: "Run the job in this process instead of on a cluster (no coordinator needed)."),
        .flag("json", help: "With --wait or --local, print the report as JSON."),
        OptionSpec(
            "out", value: "DIR",
            help: "With --wait or --local, also write the report to DIR (report.json, summary.txt, plan and plots)."),
    ]

    static func run(_ arguments: [String], registry: JobKindRegistry) throws -> Int32 {
        guard let kindName = arguments.first, !kindName.hasPrefix("-") else {
            if arguments.first == "--help" {
                print(overview(registry))
                return ExitCode.success
            }
            throw UsageError(
                "missing job kind: 'elide submit KIND [options]'; kinds: \(registry.kindNames.joined(separator: ", "))")
        }
        guard let kind = registry.kind(named: kindName) else {
            throw UsageError("unknown job kind '\(kindName)'; kinds: \(registry.kindNames.joined(separator: ", "))")
        }
        let spec = CommandSpec(
            name: "submit \(kind.name)", summary: kind.summary,
            options: kind.options + commonOptions + ClusterCommandLine.connectionOptions)
        let options = try ClusterCommandLine.parse(Array(arguments.dropFirst()), spec)

        guard let seedText = options.string("seed"), let seed = UInt64(seedText) else {
            throw UsageError("invalid value '\(options.string("seed") ?? "")' for --seed: expected a whole number ≥ 0")
        }
        var values: [String: String] = [:]
        for option in kind.options {
            if option.valueName == nil {
                if options.flag(option.name) { values[option.name] = "true" }
            } else if let value = options.string(option.name) {
                values[option.name] = value
            }
        }
        var job = JobSpec(kind: kind.name, seed: seed, options: values)
        do {
            if let prepare = kind.prepare { job = try prepare(job) }
            _ = try registry.makeDriver(for: job)
        } catch {
            throw UsageError("\(error)")
        }

        if let out = options.string("out") { try OutputPath.checkFolder(out, option: "out") }
        if options.flag("local") {
            let logger = Logger(label: "local", level: .warning)
            var printed: (completed: Int, total: Int, at: MonotonicInstant)?
            let report = try LocalJobRunner.run(job, registry: registry, logger: logger) { progress in
                // One line when the progress count moves, and at most one every 5 s in between.
                let now = MonotonicInstant.now()
                if let last = printed, last.completed == progress.completed, last.total == progress.total,
                    (now - last.at) < .seconds(5)
                {
                    return
                }
                printed = (progress.completed, progress.total, now)
                CommandSupport.printError("local running \(progress.completed)/\(progress.total) \(progress.detail)")
            }
            let status = JobStatus(
                id: "local", kind: kind.name, state: .succeeded, progress: JobProgress(completed: 0, total: 0),
                tasksDone: 0, tasksCreated: 0, tasksRunning: 0, retries: 0, elapsedSeconds: 0,
                submittedAtUnixMilliseconds: 0, failure: nil, report: report)
            return ClusterCommandLine.printResult(status, json: options.flag("json"), out: options.string("out"))
        }

        let client = try ClusterCommandLine.connect(options)
        let id = try client.submit(job)
        guard options.flag("wait") else {
            print(id.description)
            return ExitCode.success
        }
        CommandSupport.printError("submitted \(id)")
        _ = try ClusterCommandLine.waitForJob(id, client: client, timeout: nil)
        return ClusterCommandLine.printResult(
            try client.result(id), json: options.flag("json"), out: options.string("out"))
    }

    static func overview(_ registry: JobKindRegistry) -> String {
        var lines = [
            "OVERVIEW: Submit a job to the cluster.", "", "USAGE: elide submit <kind> [options]", "", "KINDS:",
        ]
        for name in registry.kindNames {
            lines.append(
                "  " + name.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + (registry.kind(named: name)?.summary ?? ""))
        }
        lines.append("")
        lines.append("See 'elide submit <kind> --help' for a kind's options.")
        return lines.joined(separator: "\n")
    }
}
