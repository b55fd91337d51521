import ElideSupport
import ElideWire

/// `elide-coordinator`: parses flags (and an optional config file), runs the coordinator until SIGTERM.
public enum CoordinatorCommand {
    static let spec = CommandSpec(
        name: "elide-coordinator", summary: "Run the Elide coordinator: job journal, scheduler and worker registry.",
        options: [
            OptionSpec(
                "listen", value: "HOST:PORT", help: "Address for workers and clients; port 0 picks one.",
                default: "127.0.0.1:7070"),
            OptionSpec(
                "state-dir", value: "DIR", help: "Folder for the journal, artifacts, token and address file.",
                default: CommandSupport.elideHome + "/cluster"),
            OptionSpec(
                "metrics-listen", value: "HOST:PORT",
                help: "Address of the HTTP /metrics and /healthz endpoint; off when unset."),
            OptionSpec(
                "config", value: "FILE",
                help: "JSON file with these options as keys (section \"coordinator\"); flags override it."),
            OptionSpec(
                "heartbeat-timeout", value: "S", help: "Seconds without a heartbeat before a worker is dead.",
                default: "10"),
            OptionSpec("heartbeat-interval", value: "S", help: "Seconds between worker heartbeats.", default: "1"),
            OptionSpec(
                "handshake-timeout", value: "S", help: "Seconds a new connection has to authenticate.", default: "10"),
            OptionSpec(
                "max-frame-bytes", value: "N", help: "Largest frame accepted, in bytes.",
                default: String(WireProtocol.defaultMaxFrameBytes)),
            OptionSpec(
                "token-file", value: "PATH", help: "Cluster token file when ELIDE_CLUSTER_TOKEN is unset.",
                default: "<state-dir>/token"),
        ])

    /// Runs the daemon and returns its exit code: 0 after SIGTERM, 1 on a start-up failure, 64 on bad flags.
    public static func main(_ arguments: [String], registry: JobKindRegistry = .builtin) -> Int32 {
        let parsed: (options: ParsedOptions, explicit: ParsedOptions)
        switch CommandSupport.parse(arguments, spec: spec, program: "elide-coordinator") {
        case .success(let value): parsed = value
        case .failure(let status): return status.code
        }
        let options: CoordinatorOptions
        do {
            options = try makeOptions(parsed.options, explicit: parsed.explicit)
        } catch {
            CommandSupport.printError("error: \(error)")
            return ExitCode.usage
        }

        SignalWaiter.blockTermination()
        let logger = Logger(label: "coordinator")
        let server: CoordinatorServer
        do {
            server = try CoordinatorServer(options: options, registry: registry, logger: logger)
        } catch {
            logger.error("coordinator failed to start", ("error", "\(error)"))
            return ExitCode.failure
        }
        server.start()
        let signal = SignalWaiter.waitForTermination()
        logger.info("termination signal received", ("signal", String(signal)))
        server.stop()
        return ExitCode.success
    }

    static func makeOptions(_ parsed: ParsedOptions, explicit: ParsedOptions) throws -> CoordinatorOptions {
        let config = try explicit.string("config").map { try ConfigFile(path: $0, section: "coordinator") }
        func value(_ name: String) -> String? { explicit.string(name) ?? config?.values[name] ?? parsed.string(name) }

        let listen = try CommandSupport.address(value("listen") ?? "127.0.0.1:7070", option: "listen")
        var options = CoordinatorOptions(listen: listen, stateDirectory: value("state-dir") ?? ".")
        options.metricsListen = try value("metrics-listen").map {
            try CommandSupport.address($0, option: "metrics-listen")
        }
        options.tokenFile = explicit.string("token-file") ?? config?.values["token-file"]
        let merged = try CommandSpec(name: spec.name, summary: "", options: spec.options.filter { $0.name != "help" })
            .parse(spec.options.compactMap { option in value(option.name).map { "--\(option.name)=\($0)" } })
        options.heartbeatTimeout = try CommandSupport.seconds(merged, "heartbeat-timeout") ?? options.heartbeatTimeout
        options.heartbeatInterval =
            try CommandSupport.seconds(merged, "heartbeat-interval") ?? options.heartbeatInterval
        options.handshakeTimeout = try CommandSupport.seconds(merged, "handshake-timeout") ?? options.handshakeTimeout
        options.maxFrameBytes = try merged.int("max-frame-bytes") ?? options.maxFrameBytes
        guard options.heartbeatTimeout > options.heartbeatInterval * 3 else {
            throw UsageError(
                "--heartbeat-timeout (\(options.heartbeatTimeout)) must exceed 3 heartbeat intervals "
                    + "(\(options.heartbeatInterval * 3)); raise it or lower --heartbeat-interval")
        }
        guard options.maxFrameBytes >= 1 << 20 else {
            throw UsageError("--max-frame-bytes must be at least 1048576 (1 MiB), got \(options.maxFrameBytes)")
        }
        return options
    }
}
