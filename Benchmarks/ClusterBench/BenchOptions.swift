import ElideSupport
import Foundation

/// The benchmark's command-line options.
struct BenchOptions {
    enum Test: String, CaseIterable {
        case roundTrip = "round-trip"
        case transfer
        case throughput
        case zstd
        /// Not in the default list: candidate evaluation against dense prefill (`EvaluationBench`).
        case evaluation
        /// Not in the default list: an `evopress` or `inference` job on each worker count (`JobScalingBench`).
        case evoPressScaling = "evopress-scaling"
        case inferenceScaling = "inference-scaling"
        /// Not in the default list: the per-token cost of `inference --shard layers` hops (`LayerShardingBench`).
        case layerSharding = "layer-sharding"

        /// The runtime tests `scripts/bench-cluster` runs by default.
        static let runtime: [Test] = [.roundTrip, .transfer, .throughput, .zstd]
    }

    var tests: [Test]
    var repetitions: Int
    var roundTrips: Int
    var transferBytes: Int
    var transferVariants: [TransferBench.Variant]
    var workerCounts: [Int]
    var slots: Int
    var tasks: Int
    var binaryFolder: String
    var model: String
    var q4Tensor: String
    var text: String
    var activationLayer: Int
    var activationTokens: Int
    var threads: Int
    var minimumSeconds: Double
    var evaluationThreads: [Int]
    var evoPressGenerations: Int
    var prompts: Int
    var maxTokens: Int
    var stageCounts: [Int]
    var pipelinePrompts: Int

    static let elideHome =
        ProcessInfo.processInfo.environment["ELIDE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
        ?? NSHomeDirectory() + "/.cache/elide"

    static let spec = CommandSpec(
        name: "elide-cluster-bench",
        summary: "Benchmark the cluster runtime on 127.0.0.1: wire round trip and tensor transfer against raw "
            + "sockets, tasks per second through real daemons, zstd on model data.",
        options: [
            OptionSpec(
                "tests", value: "LIST",
                help: "Comma-separated tests to run; also evaluation, evopress-scaling, inference-scaling and "
                    + "layer-sharding.",
                default: Test.runtime.map(\.rawValue).joined(separator: ",")),
            OptionSpec(
                "repetitions", value: "N",
                help: "Samples per variant; variants alternate so that load changes hit them alike.", default: "5"),
            OptionSpec("round-trips", value: "N", help: "Timed round trips per round-trip sample.", default: "5000"),
            OptionSpec("transfer-mib", value: "N", help: "Tensor size of the transfer test, in MiB.", default: "64"),
            OptionSpec(
                "transfer-variants", value: "LIST", help: "Variants of the transfer test, for example to profile one.",
                default: TransferBench.Variant.allCases.map(\.rawValue).joined(separator: ",")),
            OptionSpec(
                "workers", value: "LIST", help: "Worker process counts of the throughput test.", default: "1,2,4"),
            OptionSpec("slots", value: "N", help: "Slots of each worker process.", default: "1"),
            OptionSpec("tasks", value: "N", help: "Tasks per throughput job (sleep kind, 0 s each).", default: "2000"),
            OptionSpec(
                "bin-dir", value: "DIR", help: "Folder with elide-coordinator and elide-worker.",
                default: "<folder of this executable>"),
            OptionSpec(
                "model", value: "PATH", help: "GGUF file for the zstd test.",
                default: "$ELIDE_HOME/models/SmolLM2-135M-Instruct.Q4_1.gguf"),
            OptionSpec(
                "q4-tensor", value: "NAME", help: "Q4_1 tensor of the model to compress.",
                default: "blk.0.ffn_up.weight"),
            OptionSpec(
                "text", value: "PATH", help: "Text whose tokens produce the activations.",
                default: "$ELIDE_HOME/text/pride-and-prejudice-2000-8000.txt"),
            OptionSpec(
                "activation-layer", value: "N", help: "Layer whose input is the F32 activation tensor.", default: "15"),
            OptionSpec("activation-tokens", value: "N", help: "Tokens in the activation tensor.", default: "512"),
            OptionSpec("threads", value: "N", help: "Engine threads for the forward pass.", default: "2"),
            OptionSpec(
                "min-seconds", value: "S", help: "Shortest timed loop per zstd sample.", default: "0.3"),
            OptionSpec(
                "evaluation-threads", value: "LIST", help: "Thread counts of the evaluation test.", default: "1,2"),
            OptionSpec(
                "evopress-generations", value: "G", help: "Generations of the evopress-scaling job.", default: "4"),
            OptionSpec("prompts", value: "N", help: "Prompts of the inference-scaling job.", default: "32"),
            OptionSpec(
                "max-tokens", value: "N", help: "Tokens generated per prompt in inference-scaling and layer-sharding.",
                default: "32"),
            OptionSpec(
                "stages", value: "LIST", help: "Pipeline stage counts of layer-sharding, one worker each.",
                default: "2,3"),
            OptionSpec(
                "pipeline-prompts", value: "N", help: "Prompts in flight in layer-sharding's throughput run.",
                default: "4"),
        ])

    /// Parses `arguments`; returns nil after printing help.
    static func parse(_ arguments: [String]) throws -> BenchOptions? {
        let parsed = try spec.parse(arguments)
        if parsed.flag("help") {
            print(spec.helpText)
            return nil
        }
        let tests = try list(parsed, "tests").map { name in
            guard let test = Test(rawValue: name) else {
                throw UsageError(
                    "unknown test '\(name)' in --tests; expected some of "
                        + Test.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return test
        }
        let transferVariants = try list(parsed, "transfer-variants").map { name in
            guard let variant = TransferBench.Variant(rawValue: name) else {
                throw UsageError(
                    "unknown variant '\(name)' in --transfer-variants; expected some of "
                        + TransferBench.Variant.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return variant
        }
        let workerCounts = try list(parsed, "workers").map { text in
            guard let count = Int(text), count >= 1 else {
                throw UsageError("invalid worker count '\(text)' in --workers; expected whole numbers of at least 1")
            }
            return count
        }
        let options = BenchOptions(
            tests: tests,
            repetitions: try positive(parsed, "repetitions"),
            roundTrips: try positive(parsed, "round-trips"),
            transferBytes: try positive(parsed, "transfer-mib") << 20,
            transferVariants: transferVariants,
            workerCounts: workerCounts,
            slots: try positive(parsed, "slots"),
            tasks: try positive(parsed, "tasks"),
            binaryFolder: parsed.explicitString("bin-dir") ?? executableFolder,
            model: parsed.explicitString("model") ?? elideHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf",
            q4Tensor: try parsed.required("q4-tensor"),
            text: parsed.explicitString("text") ?? elideHome + "/text/pride-and-prejudice-2000-8000.txt",
            activationLayer: try parsed.int("activation-layer") ?? 15,
            activationTokens: try positive(parsed, "activation-tokens"),
            threads: try positive(parsed, "threads"),
            minimumSeconds: try parsed.double("min-seconds") ?? 0.3,
            evaluationThreads: try list(parsed, "evaluation-threads").map { text in
                guard let count = Int(text), count >= 1 else {
                    throw UsageError("invalid thread count '\(text)' in --evaluation-threads")
                }
                return count
            },
            evoPressGenerations: try positive(parsed, "evopress-generations"),
            prompts: try positive(parsed, "prompts"),
            maxTokens: try positive(parsed, "max-tokens"),
            stageCounts: try list(parsed, "stages").map { text in
                guard let count = Int(text), count >= 1 else {
                    throw UsageError("invalid stage count '\(text)' in --stages; expected whole numbers of at least 1")
                }
                return count
            },
            pipelinePrompts: try positive(parsed, "pipeline-prompts"))
        guard options.transferBytes <= 1 << 30 else {
            throw UsageError("--transfer-mib \(options.transferBytes >> 20) is above the 1024 MiB this test allows")
        }
        return options
    }

    private static func list(_ parsed: ParsedOptions, _ name: String) throws -> [String] {
        let items = (parsed.string(name) ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard !items.isEmpty, !items.contains("") else {
            throw UsageError("--\(name) needs a comma-separated list without empty items")
        }
        return items
    }

    private static func positive(_ parsed: ParsedOptions, _ name: String) throws -> Int {
        guard let value = try parsed.int(name), value >= 1 else {
            throw UsageError("--\(name) must be a whole number of at least 1")
        }
        return value
    }

    /// The folder of the running executable, where SwiftPM also puts the daemons it built alongside.
    private static var executableFolder: String {
        let path =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (path as NSString).deletingLastPathComponent
    }
}

extension ParsedOptions {
    /// The value given on the command line, ignoring a default that only documents a computed value.
    fileprivate func explicitString(_ name: String) -> String? {
        guard let value = string(name), !value.hasPrefix("<"), !value.hasPrefix("$") else { return nil }
        return value
    }
}
