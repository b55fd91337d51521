import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starts daemons in the background: a new session (so they outlive the launching shell), stdin from
/// /dev/null, stdout and stderr appended to a log file, no other descriptors and no blocked signals.
enum ProcessLauncher {
    struct LaunchError: Error, CustomStringConvertible {
        let program: String
        let code: Int32

        var description: String { "cannot start \(program): \(String(cString: strerror(code))) (errno \(code))" }
    }

    /// glibc's `POSIX_SPAWN_SETSID` (0x80), which Swift does not import because glibc declares it only under
    /// `_GNU_SOURCE`.
    static let spawnSetSession: Int32 = 0x80

    static func spawn(_ program: String, arguments: [String], logFile: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        markDescriptorsCloseOnExec()

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(spawnSetSession | POSIX_SPAWN_SETSIGMASK))

        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, program, &actions, &attributes, argv, environ)
        guard status == 0 else { throw LaunchError(program: program, code: status) }
        return pid
    }

    /// Keeps every descriptor above stderr out of spawned daemons, such as a pipe whose reader waits for its
    /// end, which a daemon holding it open would delay forever. (`posix_spawn_file_actions_addclosefrom_np`
    /// would do this per spawn, but Swift does not import it from glibc's headers.)
    private static func markDescriptorsCloseOnExec() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in names.compactMap({ Int32($0) }) where descriptor > 2 {
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
    }

    /// True while a process with this id exists.
    static func isRunning(_ pid: pid_t) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }

    /// The folder of the running executable, where `elide-coordinator` and `elide-worker` are installed.
    static var executableFolder: String {
        if let folder = ProcessInfo.processInfo.environment["ELIDE_BIN_DIR"], !folder.isEmpty { return folder }
        let path =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (path as NSString).deletingLastPathComponent
    }
}
