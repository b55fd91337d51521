import ElideSupport
import ElideWire
import Foundation

/// The cluster commands of the `elide` CLI: `cluster up|down`, `status`, `submit`, `jobs`, `wait`,
/// `result`, `compare` and `cancel`. `elide`'s main calls `run(command:arguments:)` and falls through to its other commands on nil.
public enum ClusterCommandLine {
    /// Commands handled here, for `elide --help`.
    public static let commands: [(name: String, summary: String)] = [
        ("cluster", "Start (up) or stop (down) a local coordinator and workers."),
        ("status", "Show workers and jobs of a running cluster."),
        ("submit", "Submit a job (sleep, matmul, ...) to the cluster, or run it here with --local."),
        ("jobs", "List the cluster's jobs."),
        ("wait", "Wait for a job to finish, showing its progress."),
        ("result", "Print a finished job's report."),
        ("compare", "Compare finished federated jobs or their report.json files in one table."),
        ("cancel", "Cancel a running job."),
    ]

    /// Runs `command` with its arguments (without the command name) and returns the exit code, or nil when
    /// `command` is not a cluster command.
    public static func run(command: String, arguments: [String], registry: JobKindRegistry = .builtin) -> Int32? {
        let body: () throws -> Int32
        switch command {
        case "cluster": body = { try LocalCluster.run(arguments) }
        case "status": body = { try statusCommand(arguments) }
        case "submit": body = { try SubmitCommand.run(arguments, registry: registry) }
        case "jobs": body = { try jobsCommand(arguments) }
        case "wait": body = { try waitCommand(arguments) }
        case "result": body = { try resultCommand(arguments) }
        case "compare": body = { try CompareCommand.run(arguments) }
        case "cancel": body = { try cancelCommand(arguments) }
        default: return nil
        }
        do {
            return try body()
        } catch let status as ExitStatus {
            return status.code
        } catch let error as UsageError {
            CommandSupport.printError("error: \(error.message)")
            return ExitCode.usage
        } catch {
            CommandSupport.printError("error: \(error)")
            return ExitCode.failure
        }
    }

    // MARK: - Shared options

    static let connectionOptions: [OptionSpec] = [
        OptionSpec(
            "coordinator", value: "HOST:PORT",
            help: "Coordinator address; read from <state-dir>/coordinator.addr when unset."),
        OptionSpec(
            "state-dir", value: "DIR", help: "State folder of a cluster started by 'elide cluster up'.",
            default: CommandSupport.elideHome + "/cluster"),
        OptionSpec(
            "token-file", value: "PATH", help: "Cluster token file when ELIDE_CLUSTER_TOKEN is unset.",
            default: "<state-dir>/token"),
    ]

    /// Parses arguments, returning the options or throwing the exit status for help and usage errors.
    static func parse(_ arguments: [String], _ spec: CommandSpec) throws -> ParsedOptions {
        switch CommandSupport.parse(arguments, spec: spec) {
        case .success(let parsed): return parsed.options
        case .failure(let status): throw status
        }
    }

    /// Connects to the coordinator named by `--coordinator` or the state folder.
    static func connect(_ options: ParsedOptions) throws -> ClusterClient {
        let stateDirectory = options.string("state-dir") ?? CommandSupport.elideHome + "/cluster"
        let addressText: String
        if let given = options.string("coordinator") {
            addressText = given
        } else {
            let file = stateDirectory + "/coordinator.addr"
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw UsageError(
                    "no coordinator address: \(file) does not exist; start a cluster with 'elide cluster up' "
                        + "or pass --coordinator HOST:PORT")
            }
            addressText = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let address = try CommandSupport.address(addressText, option: "coordinator")
        var tokenFile = options.string("token-file")
        if tokenFile == nil || tokenFile == "<state-dir>/token" { tokenFile = stateDirectory + "/token" }
        let token = try ClusterToken.load(tokenFile: tokenFile)
        return try ClusterClient(address: address, token: token)
    }

    static func job(_ options: ParsedOptions) throws -> JobID {
        guard let text = options.positionals.first else {
            throw UsageError("missing job id, for example 'elide \(options.command) j1'; 'elide jobs' lists jobs")
        }
        guard let job = JobID(parsing: text) else {
            throw UsageError("invalid job id '\(text)': expected j<number>, for example j1")
        }
        return job
    }

    static func printJSON<Value: Encodable>(_ value: Value) throws {
        print(String(decoding: try ClusterJSON.encoder.encode(value), as: UTF8.self))
    }

    // MARK: - Commands

    static func statusCommand(_ arguments: [String]) throws -> Int32 {
        let spec = CommandSpec(
            name: "status", summary: "Show the workers and jobs of a running cluster.",
            options: connectionOptions + [.flag("json", help: "Print the status as JSON.")])
        let options = try parse(arguments, spec)
        let status = try connect(options).status()
        if options.flag("json") {
            try printJSON(status)
        } else {
            print(StatusFormatter.text(status))
        }
        return ExitCode.success
    }

    static func jobsCommand(_ arguments: [String]) throws -> Int32 {
        let spec = CommandSpec(
            name: "jobs", summary: "List the cluster's jobs.",
            options: connectionOptions + [.flag("json", help: "Print the jobs as JSON.")])
        let options = try parse(arguments, spec)
        let jobs = try connect(options).status().jobs
        if options.flag("json") {
            try printJSON(jobs)
        } else {
            print(StatusFormatter.jobsTable(jobs))
        }
        return ExitCode.success
    }

    static func waitCommand(_ arguments: [String]) throws -> Int32 {
        let spec = CommandSpec(
            name: "wait", summary: "Wait for a job to finish, showing its progress on stderr.",
            options: connectionOptions + [
                OptionSpec(
                    "timeout", value: "S", help: "Give up after this many seconds (exit 1); 0 waits forever.",
                    default: "0")
            ], positionals: ["job"])
        let options = try parse(arguments, spec)
        let job = try job(options)
        let timeout = try options.double("timeout") ?? 0
        let status = try waitForJob(job, client: connect(options), timeout: timeout > 0 ? timeout : nil)
        print("\(status.id) \(status.state.rawValue)")
        if let failure = status.failure { CommandSupport.printError(failure) }
        return status.state == .succeeded ? ExitCode.success : ExitCode.failure
    }

    /// Polls the job once a second, printing a progress line on stderr when it changes and every 5 s.
    static func waitForJob(_ job: JobID, client: ClusterClient, timeout: Double?) throws -> JobStatus {
        let start = MonotonicInstant.now()
        var lastKey = ""
        var lastPrinted = start
        while true {
            let status = try client.wait(job, timeout: .seconds(1))
            let key = "\(status.state.rawValue) \(status.progressText)"
            let now = MonotonicInstant.now()
            if key != lastKey || now - lastPrinted >= .seconds(5) {
                CommandSupport.printError("\(status.id) \(key), \(format(seconds: status.elapsedSeconds))")
                lastKey = key
                lastPrinted = now
            }
            if status.state.isFinished { return status }
            if let timeout, (now - start).seconds >= timeout {
                CommandSupport.printError(
                    "job \(job) is still \(status.state.rawValue) after \(timeout) s; wait again or "
                        + "'elide cancel \(job)'")
                throw ExitStatus(code: ExitCode.failure)
            }
        }
    }

    static func resultCommand(_ arguments: [String]) throws -> Int32 {
        let spec = CommandSpec(
            name: "result", summary: "Print a finished job's report.",
            options: connectionOptions + [
                .flag("json", help: "Print the report as JSON."),
                OptionSpec(
                    "out", value: "DIR",
                    help: "Also write the report to DIR (report.json, summary.txt, plan and plots)."),
            ], positionals: ["job"])
        let options = try parse(arguments, spec)
        let status = try connect(options).result(try job(options))
        return printResult(status, json: options.flag("json"), out: options.string("out"))
    }

    /// Prints a job's report or failure and, with `out`, writes the report's files there; returns 0 for a
    /// succeeded job and 1 otherwise.
    ///
    /// Text mode prints the summary and the report's short scalar values; `--json` prints everything.
    static func printResult(_ status: JobStatus, json: Bool, out: String? = nil) -> Int32 {
        guard status.state == .succeeded, let report = status.report else {
            let reason = status.failure ?? "the job is \(status.state.rawValue) (\(status.progressText))"
            CommandSupport.printError("job \(status.id) has no result: \(reason)")
            return ExitCode.failure
        }
        if json {
            try? printJSON(report)
        } else {
            print(report.summary)
            var omitted: [String] = []
            for (key, value) in report.values.sorted(by: { $0.key < $1.key }) {
                switch value {
                case .null: continue
                case .bool, .number: print("  \(key): \(value)")
                case .string(let text) where text.count <= 120 && !text.contains("\n"): print("  \(key): \(value)")
                default: omitted.append(key)
                }
            }
            if !omitted.isEmpty {
                print("  more in the report: \(omitted.joined(separator: ", ")) (--json prints it, --out DIR saves it)")
            }
        }
        if let out {
            do {
                let written = try ReportFiles.write(report, to: out)
                CommandSupport.printError("wrote \(written.joined(separator: ", ")) to \(out)")
            } catch {
                CommandSupport.printError("error: cannot write the report to \(out): \(error)")
                return ExitCode.failure
            }
        }
        return ExitCode.success
    }

    static func cancelCommand(_ arguments: [String]) throws -> Int32 {
        let spec = CommandSpec(
            name: "cancel", summary: "Cancel a running job.", options: connectionOptions, positionals: ["job"])
        let options = try parse(arguments, spec)
        let status = try connect(options).cancel(try job(options))
        print("\(status.id) \(status.state.rawValue)")
        return ExitCode.success
    }

    static func format(seconds: Double) -> String {
        seconds < 60
            ? String(format: "%.1f s", seconds) : String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
    }
}
