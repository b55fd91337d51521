import ElideSupport
import ElideWire
import Foundation

/// `elide-worker`: parses flags and runs a worker until SIGTERM, then drains and deregisters.
public enum WorkerCommand {
    static let spec = CommandSpec(
        name: "elide-worker", summary: "Run an Elide worker that executes tasks for a coordinator.",
        options: [
            OptionSpec("coordinator", value: "HOST:PORT", help: "Address of the coordinator.", required: true),
            OptionSpec(
                "slots", value: "N", help: "Tasks run at once.",
                default: String(ProcessInfo.processInfo.activeProcessorCount)),
            OptionSpec(
                "cache-dir", value: "DIR", help: "Folder of the artifact cache.",
                default: CommandSupport.elideHome + "/worker-cache"),
            OptionSpec("name", value: "NAME", help: "Name shown in 'elide status'.", default: "<host>-<pid>"),
            OptionSpec("token-file", value: "PATH", help: "Cluster token file when ELIDE_CLUSTER_TOKEN is unset."),
            OptionSpec(
                "drain-grace", value: "S",
                help: "Seconds to finish running tasks after SIGTERM before handing them back.", default: "30"),
        ])

    /// Runs the daemon and returns its exit code: 0 after SIGTERM, 1 on a start-up failure, 64 on bad flags.
    public static func main(_ arguments: [String], registry: JobKindRegistry = .builtin) -> Int32 {
        let parsed: ParsedOptions
        switch CommandSupport.parse(arguments, spec: spec, program: "elide-worker") {
        case .success(let value): parsed = value.options
        case .failure(let status): return status.code
        }
        let options: WorkerOptions
        do {
            options = try makeOptions(parsed)
        } catch {
            CommandSupport.printError("error: \(error)")
            return ExitCode.usage
        }

        SignalWaiter.blockTermination()
        let logger = Logger(label: "worker")
        let daemon: WorkerDaemon
        do {
            daemon = try WorkerDaemon(options: options, registry: registry, logger: logger)
        } catch {
            logger.error("worker failed to start", ("error", "\(error)"))
            return ExitCode.failure
        }
        daemon.start()
        let signal = SignalWaiter.waitForTermination()
        logger.info("termination signal received", ("signal", String(signal)))
        daemon.stop()
        return ExitCode.success
    }

    static func makeOptions(_ parsed: ParsedOptions) throws -> WorkerOptions {
        let coordinator = try CommandSupport.address(try parsed.required("coordinator"), option: "coordinator")
        let slots = try parsed.int("slots") ?? 1
        guard slots >= 1, slots <= 1024 else {
            throw UsageError("invalid value '\(slots)' for --slots: expected 1...1024")
        }
        var name = parsed.string("name") ?? ""
        if name.isEmpty || name == "<host>-<pid>" { name = "\(ProcessInfo.processInfo.hostName)-\(getpid())" }
        var options = WorkerOptions(
            coordinator: coordinator, slots: slots,
            cacheDirectory: parsed.string("cache-dir") ?? CommandSupport.elideHome + "/worker-cache", name: name)
        options.tokenFile = parsed.string("token-file")
        options.drainGrace = try CommandSupport.seconds(parsed, "drain-grace") ?? options.drainGrace
        return options
    }
}
