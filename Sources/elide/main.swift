import ElideSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The engine commands this binary implements itself; cluster commands are added beside them.
let engineCommands: [String: (ArraySlice<String>) throws -> Int32] = [
    "inspect": InspectCommand.run,
    "eval": EvalCommand.run,
    "generate": GenerateCommand.run,
    "bench": BenchCommand.run,
]

let topLevelHelp = """
    OVERVIEW: Elide, an engine for dynamic model compression and adaptive computation.

    USAGE: elide <command> [options]

    COMMANDS:
      inspect PATH              Print a GGUF file's metadata and tensor table.
      eval perplexity           Score a text file with a model.
      generate                  Generate text from a prompt.
      bench                     Measure prefill and decode speed.

    Run 'elide <command> --help' for a command's options.
    """

let arguments = Array(CommandLine.arguments.dropFirst())
guard let commandName = arguments.first, commandName != "--help", commandName != "help" else {
    print(topLevelHelp)
    exit(arguments.isEmpty ? ExitCode.usage : ExitCode.success)
}

guard let command = engineCommands[commandName] else {
    let suggestion = engineCommands.keys.min {
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
