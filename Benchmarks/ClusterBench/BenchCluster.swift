import ElideCluster
import ElideWire
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A coordinator and worker processes on 127.0.0.1, started from the built `elide-coordinator` and
/// `elide-worker`, with their state, caches and logs in a temporary folder that `stop()` removes.
final class BenchCluster {
    let folder: String
    private let binaryFolder: String
    private let token = "cluster-bench-token-0123456789abcdef"
    private var coordinator: Process?
    private var workers: [Process] = []
    private(set) var address = WireAddress(host: "127.0.0.1", port: 0)

    init(binaryFolder: String) throws {
        self.binaryFolder = binaryFolder
        folder = NSTemporaryDirectory() + "elide-cluster-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    var stateDirectory: String { folder + "/state" }

    func startCoordinator() throws {
        coordinator = try launch(
            "elide-coordinator", ["--listen", "127.0.0.1:0", "--state-dir", stateDirectory], log: "coordinator")
        let addressFile = stateDirectory + "/coordinator.addr"
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: addressFile, encoding: .utf8), text.hasSuffix("\n") {
                address = try WireAddress(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines))
                return
            }
            if coordinator?.isRunning == false { break }
            usleep(20_000)
        }
        throw BenchFailure("the coordinator wrote no address in 20 s; its log:\n\(log("coordinator"))")
    }

    func startWorker(_ index: Int, slots: Int) throws {
        let name = "bench-w\(index)"
        workers.append(
            try launch(
                "elide-worker",
                [
                    "--coordinator", address.description, "--slots", String(slots), "--name", name, "--cache-dir",
                    folder + "/cache-\(name)", "--drain-grace", "1",
                ], log: name))
    }

    func client() throws -> ClusterClient {
        try ClusterClient(address: address, token: ClusterToken(text: token))
    }

    /// Waits until `count` workers are alive, or fails after 20 s.
    func waitForWorkers(_ count: Int) throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let status = try? client().status(), status.workers.filter({ $0.state == "alive" }).count >= count {
                return
            }
            usleep(50_000)
        }
        throw BenchFailure("fewer than \(count) workers registered in 20 s; coordinator log:\n\(log("coordinator"))")
    }

    /// CPU time, user and system, that the coordinator and the workers have used so far.
    func daemonCPUSeconds() -> Double {
        (workers + [coordinator].compactMap { $0 }).reduce(0) { $0 + Self.cpuSeconds(of: $1.processIdentifier) }
    }

    /// Resident memory of one process, from `/proc/PID/status`.
    struct Memory {
        /// `VmRSS`: all resident pages.
        var residentMiB: Double
        /// `RssFile`: resident pages of mapped files, here mostly the model's weights.
        var fileMiB: Double
    }

    /// Returns the resident memory of each worker, in start order; zeros for an unreadable status file.
    func workerMemory() -> [Memory] {
        workers.map { process in
            let text = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
            func mebibytes(_ field: String) -> Double {
                guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
                    let kibibytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
                else { return 0 }
                return kibibytes / 1024
            }
            return Memory(residentMiB: mebibytes("VmRSS"), fileMiB: mebibytes("RssFile"))
        }
    }

    /// Reads the user and system time of process `pid` from `/proc/PID/stat` (fields 14 and 15, in clock
    /// ticks); 0 when the file is unreadable.
    private static func cpuSeconds(of pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = text.lastIndex(of: ")")
        else { return 0 }
        // The command name in brackets may contain spaces, so fields are counted after its closing bracket,
        // where field 3 (the state) comes first.
        let fields = text[text.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Stops the workers, then the coordinator, with SIGTERM (SIGKILL after 10 s), and removes the folder.
    func stop() {
        for process in workers + [coordinator].compactMap({ $0 }) where process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                BenchLog.info("process \(process.processIdentifier) ignored SIGTERM for 10 s; sending SIGKILL")
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
        }
        workers = []
        coordinator = nil
        try? FileManager.default.removeItem(atPath: folder)
    }

    deinit { stop() }

    func log(_ name: String) -> String {
        (try? String(contentsOfFile: folder + "/\(name).log", encoding: .utf8)) ?? ""
    }

    private func launch(_ name: String, _ arguments: [String], log: String) throws -> Process {
        let path = binaryFolder + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw BenchFailure(
                "\(path) not found; build it with 'swift build -c release --product \(name)' or pass --bin-dir")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["ELIDE_CLUSTER_TOKEN"] = token
        process.environment = environment
        let logPath = folder + "/\(log).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: logPath) else {
            throw BenchFailure("cannot open the log file \(logPath) for writing")
        }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }
}
