// Cluster runtime benchmark: wire round trip and tensor transfer against raw sockets, task throughput through
// real coordinator and worker processes, and zstd on real model data. Everything runs on 127.0.0.1.
//
// Usage: elide-cluster-bench [options]; `--help` lists every option with its default.
// Prints one JSON object per sample on stdout (field "test": round_trip, transfer, throughput or zstd) and
// progress on stderr. `scripts/bench-cluster` builds this in release mode, runs it and prints a markdown table.

import ElideSupport

#if canImport(Glibc)
    import Glibc
#endif

let exitCode: Int32
do {
    if let options = try BenchOptions.parse(Array(CommandLine.arguments.dropFirst())) {
        try ClusterBench(options: options).run()
    }
    exitCode = ExitCode.success
} catch let error as UsageError {
    BenchLog.error(error.description)
    exitCode = ExitCode.usage
} catch {
    BenchLog.error("\(error)")
    exitCode = ExitCode.failure
}
exit(exitCode)
