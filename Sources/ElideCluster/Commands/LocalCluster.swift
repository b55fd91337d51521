import ElideSupport
import ElideWire
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `elide cluster up|down`: a coordinator and workers on this machine, started in the background and
/// recorded in `<state-dir>/cluster.json`.
enum LocalCluster {
    struct Record: Codable {
        struct Member: Codable {
            var name: String
            var processID: Int32
            var logFile: String
        }

        var address: String
        var coordinator: Member
        var workers: [Member]
    }

    static func run(_ arguments: [String]) throws -> Int32 {
        switch arguments.first {
        case "up": return try up(Array(arguments.dropFirst()))
        case "down": return try down(Array(arguments.dropFirst()))
        case "--help", "help":
            print(
                "OVERVIEW: Start or stop a local cluster.\n\nUSAGE: elide cluster up [options]\n"
                    + "       elide cluster down [options]\n\nSee 'elide cluster up --help'.")
            return ExitCode.success
        default:
            throw UsageError("expected 'elide cluster up' or 'elide cluster down'")
        }
    }

    // MARK: - up

    static let upSpec = CommandSpec(
        name: "cluster up", summary: "Start a coordinator and N workers on this machine in the background.",
        options: [
            OptionSpec("workers", value: "N", help: "Number of workers.", default: "2"),
            OptionSpec("slots", value: "N", help: "Task slots per worker.", default: "1"),
            OptionSpec(
                "state-dir", value: "DIR", help: "Folder for the journal, token, logs and worker caches.",
                default: CommandSupport.elideHome + "/cluster"),
            OptionSpec(
                "listen", value: "HOST:PORT", help: "Coordinator address; port 0 picks a free port.",
                default: "127.0.0.1:0"),
            OptionSpec(
                "metrics-listen", value: "HOST:PORT",
                help: "Address of the coordinator's /metrics endpoint; off when unset."),
            OptionSpec(
                "config", value: "FILE", help: "Cluster config such as cluster-configs/local.json; flags override it."),
            OptionSpec(
                "heartbeat-timeout", value: "S", help: "Seconds without a heartbeat before a worker is dead.",
                default: "10"),
        ])

    static func up(_ arguments: [String]) throws -> Int32 {
        let parsed: (options: ParsedOptions, explicit: ParsedOptions)
        switch CommandSupport.parse(arguments, spec: upSpec) {
        case .success(let value): parsed = value
        case .failure(let status): return status.code
        }
        let configPath = parsed.explicit.string("config")
        let coordinatorConfig = try configPath.map { try ConfigFile(path: $0, section: "coordinator") }
        let workerConfigs = try configPath.map { try workerEntries(path: $0) } ?? []
        func value(_ name: String) -> String? {
            parsed.explicit.string(name) ?? coordinatorConfig?.values[name] ?? parsed.options.string(name)
        }

        let folder = value("state-dir") ?? CommandSupport.elideHome + "/cluster"
        let workerCount =
            try parsed.explicit.int("workers")
            ?? (workerConfigs.isEmpty ? try parsed.options.int("workers") ?? 2 : workerConfigs.count)
        let slots = try parsed.options.int("slots") ?? 1
        guard (1...256).contains(workerCount) else {
            throw UsageError("invalid value '\(workerCount)' for --workers: expected 1...256")
        }
        guard (1...1024).contains(slots) else {
            throw UsageError("invalid value '\(slots)' for --slots: expected 1...1024")
        }
        try FileManager.default.createDirectory(atPath: folder + "/logs", withIntermediateDirectories: true)

        if let existing = try? readRecord(folder), ProcessLauncher.isRunning(existing.coordinator.processID) {
            CommandSupport.printError(
                "error: a cluster is already running from \(folder) (coordinator pid \(existing.coordinator.processID) "
                    + "at \(existing.address)); stop it with 'elide cluster down --state-dir \(folder)'")
            return ExitCode.failure
        }

        // The daemons inherit ELIDE_CLUSTER_TOKEN when it is set; otherwise they share a generated token file.
        let tokenFile = folder + "/token"
        if ProcessInfo.processInfo.environment[ClusterToken.environmentVariable]?.isEmpty ?? true,
            !FileManager.default.fileExists(atPath: tokenFile)
        {
            try ClusterToken.generate().write(to: tokenFile)
        }

        let binaries = ProcessLauncher.executableFolder
        let addressFile = folder + "/coordinator.addr"
        try? FileManager.default.removeItem(atPath: addressFile)
        var coordinatorArguments = [
            "--listen", value("listen") ?? "127.0.0.1:0", "--state-dir", folder, "--token-file", tokenFile,
            "--heartbeat-timeout", value("heartbeat-timeout") ?? "10",
        ]
        if let metrics = value("metrics-listen") { coordinatorArguments += ["--metrics-listen", metrics] }
        if let configPath {
            // The coordinator reads the remaining keys (such as heartbeat-interval) itself; flags above win.
            coordinatorArguments += ["--config", URL(fileURLWithPath: configPath).path]
        }
        let coordinatorLog = folder + "/logs/coordinator.log"
        let coordinatorPID = try ProcessLauncher.spawn(
            binaries + "/elide-coordinator", arguments: coordinatorArguments, logFile: coordinatorLog)

        let address = try waitForAddress(addressFile, pid: coordinatorPID, log: coordinatorLog)
        var record = Record(
            address: address,
            coordinator: Record.Member(name: "coordinator", processID: coordinatorPID, logFile: coordinatorLog),
            workers: [])
        for index in 1...workerCount {
            let entry = index <= workerConfigs.count ? workerConfigs[index - 1] : [:]
            let name = entry["name"] ?? "worker-\(index)"
            let log = folder + "/logs/\(name).log"
            let arguments = [
                "--coordinator", address, "--slots", entry["slots"] ?? String(slots), "--name", name,
                "--cache-dir", entry["cache-dir"] ?? folder + "/workers/\(name)", "--token-file", tokenFile,
            ]
            let pid = try ProcessLauncher.spawn(binaries + "/elide-worker", arguments: arguments, logFile: log)
            record.workers.append(Record.Member(name: name, processID: pid, logFile: log))
        }
        try ClusterJSON.encoder.encode(record).write(to: URL(fileURLWithPath: folder + "/cluster.json"))

        try waitForWorkers(workerCount, address: address, tokenFile: tokenFile)
        print(address)
        return ExitCode.success
    }

    /// Reads the `workers` array of a cluster config: one object per worker with `name`, `slots`, `cache-dir`.
    static func workerEntries(path: String) throws -> [[String: String]] {
        guard let data = FileManager.default.contents(atPath: path),
            case .object(let top)? = try? JSONDecoder().decode(JSONValue.self, from: data)
        else { return [] }
        guard case .array(let entries)? = top["workers"] else { return [] }
        return entries.map { entry in
            guard case .object(let fields) = entry else { return [:] }
            return fields.mapValues(\.description)
        }
    }

    private static func waitForAddress(_ file: String, pid: pid_t, log: String) throws -> String {
        let deadline = MonotonicInstant.now() + .seconds(20)
        while MonotonicInstant.now() < deadline {
            if let text = try? String(contentsOfFile: file, encoding: .utf8), text.hasSuffix("\n") {
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard ProcessLauncher.isRunning(pid) else {
                throw LaunchFailure("the coordinator exited during start-up; see \(log)")
            }
            usleep(50_000)
        }
        throw LaunchFailure("the coordinator wrote no address within 20 s; see \(log)")
    }

    private static func waitForWorkers(_ count: Int, address: String, tokenFile: String) throws {
        let token = try ClusterToken.load(tokenFile: tokenFile)
        let client = try ClusterClient(address: try WireAddress(parsing: address), token: token)
        let deadline = MonotonicInstant.now() + .seconds(30)
        var reported = -1
        while true {
            let alive = try client.status().workers.filter { $0.state == "alive" }.count
            if alive != reported {
                CommandSupport.printError("waiting for workers: \(alive)/\(count) registered")
                reported = alive
            }
            if alive >= count { return }
            guard MonotonicInstant.now() < deadline else {
                throw LaunchFailure(
                    "only \(alive) of \(count) workers registered within 30 s; see the logs in the state folder")
            }
            usleep(100_000)
        }
    }

    // MARK: - down

    static func down(_ arguments: [String]) throws -> Int32 {
        let spec = CommandSpec(
            name: "cluster down",
            summary: "Stop the cluster started by 'elide cluster up': workers drain, then the coordinator stops.",
            options: [
                OptionSpec(
                    "state-dir", value: "DIR", help: "State folder given to 'elide cluster up'.",
                    default: CommandSupport.elideHome + "/cluster"),
                OptionSpec(
                    "timeout", value: "S", help: "Seconds to wait for each process before SIGKILL.", default: "40"),
            ])
        let options = try ClusterCommandLine.parse(arguments, spec)
        let folder = options.string("state-dir") ?? CommandSupport.elideHome + "/cluster"
        let timeout = try options.double("timeout") ?? 40
        guard let record = try? readRecord(folder) else {
            CommandSupport.printError("error: no cluster recorded in \(folder)/cluster.json; nothing to stop")
            return ExitCode.failure
        }
        stop(record.workers, timeout: timeout)
        stop([record.coordinator], timeout: timeout)
        try? FileManager.default.removeItem(atPath: folder + "/cluster.json")
        print("cluster stopped")
        return ExitCode.success
    }

    /// Sends SIGTERM to each process, waits for all to exit, and kills those still running at the timeout.
    private static func stop(_ members: [Record.Member], timeout: Double) {
        for member in members where ProcessLauncher.isRunning(member.processID) { kill(member.processID, SIGTERM) }
        let deadline = MonotonicInstant.now() + .milliseconds(Int64(timeout * 1000))
        while members.contains(where: { ProcessLauncher.isRunning($0.processID) }), MonotonicInstant.now() < deadline {
            usleep(50_000)
        }
        for member in members where ProcessLauncher.isRunning(member.processID) {
            CommandSupport.printError(
                "\(member.name) (pid \(member.processID)) did not stop in \(timeout) s; killing it")
            kill(member.processID, SIGKILL)
        }
    }

    private static func readRecord(_ folder: String) throws -> Record {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/cluster.json"))
        return try ClusterJSON.decoder.decode(Record.self, from: data)
    }

    struct LaunchFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
