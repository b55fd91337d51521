import ElideCluster
import ElideSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The engine commands this binary implements itself; cluster commands are added beside them.
let engineCommands: [String: (ArraySlice<String>) throws -> Int32] = [
    "inspect": InspectCommand.run,
    "eval": EvalCommand.run,
    "generate": GenerateCommand.run,
    "bench": BenchCommand.run,
    "export": ExportCommand.run,
    "calibrate": CalibrateCommand.run,
]

let engineSummaries: [(name: String, summary: String)] = [
    ("inspect", "Print a GGUF file's metadata and tensor table."),
    (
        "eval",
        "Score a model: perplexity of a text (eval perplexity), FFN skipping's quality (eval ffn-skip), vision "
            + "token reduction (eval vision)."
    ),
    ("generate", "Generate text from a prompt."),
    ("bench", "Measure prefill and decode speed."),
    ("export", "Write a GGUF copy of a model with a compression plan applied."),
    ("calibrate", "Pick an FFN skip policy for a target skip ratio (calibrate ffn-skip)."),
]

let topLevelHelp =
    """
    OVERVIEW: Elide, an engine for dynamic model compression and adaptive computation.

    USAGE: elide <command> [options]

    COMMANDS:

    """
    + (engineSummaries + ClusterCommandLine.commands).map { entry in
        "  " + entry.name.padding(toLength: 12, withPad: " ", startingAt: 0) + entry.summary
    }.joined(separator: "\n")
    + "\n\nRun 'elide <command> --help' for a command's options."

let arguments = Array(CommandLine.arguments.dropFirst())
guard let commandName = arguments.first, commandName != "--help", commandName != "help" else {
    print(topLevelHelp)
    exit(arguments.isEmpty ? ExitCode.usage : ExitCode.success)
}

if let status = ClusterCommandLine.run(command: commandName, arguments: Array(arguments.dropFirst())) {
    exit(status)
}

if commandName == "eval" && arguments.dropFirst().first == "vision" {
    exit(VisionEvalCommand.main(arguments.dropFirst(2)))
}

guard let command = engineCommands[commandName] else {
    let names = Array(engineCommands.keys) + ClusterCommandLine.commands.map(\.name)
    let suggestion = names.min {
        editDistanceForSuggestion($0, commandName) < editDistanceForSuggestion($1, commandName)
    }
    var message = "elide: unknown command '\(commandName)'"
    if let suggestion, editDistanceForSuggestion(suggestion, commandName) <= 2 {
        message += "; did you mean '\(suggestion)'?"
    } else {
        message += "; run 'elide --help' for the list of commands"
    }
    printError(message)
    exit(ExitCode.usage)
}

do {
    exit(try command(arguments.dropFirst()))
} catch let error as UsageError {
    printError("elide \(commandName): \(error)")
    exit(ExitCode.usage)
} catch {
    printError("elide \(commandName): \(error)")
    exit(ExitCode.failure)
}
