import ElideFormats
import ElideSupport

enum InspectCommand {
    static let spec = CommandSpec(
        name: "inspect", summary: "Print a GGUF file's metadata and tensor table.", options: [], positionals: ["path"])

    static func run(_ arguments: ArraySlice<String>) throws -> Int32 {
        guard let options = try parseOrHelp(spec, arguments) else { return ExitCode.success }
        guard let path = options.positionals.first else {
            throw UsageError("missing the GGUF file path: elide inspect PATH")
        }
        let file = try GGUFFile(path: path)
        print(file.inspectReport())
        return ExitCode.success
    }
}
