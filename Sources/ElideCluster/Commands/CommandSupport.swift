import ElideSupport
import ElideWire
import Foundation

/// Helpers shared by the daemons' and the CLI's commands.
enum CommandSupport {
    /// Writes a line to stderr.
    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Parses `arguments` with `spec`; prints help or a usage error and returns the exit code when the
    /// command should stop, or the parsed options and those given explicitly.
    static func parse(
        _ arguments: [String], spec: CommandSpec, program: String? = nil
    ) -> Result<(options: ParsedOptions, explicit: ParsedOptions), ExitStatus> {
        let bare = CommandSpec(
            name: spec.name, summary: spec.summary,
            options: spec.options.filter { $0.name != "help" }.map {
                OptionSpec($0.name, value: $0.valueName, help: $0.help, default: nil)
            }, positionals: spec.positionals)
        do {
            let parsed = try spec.parse(arguments)
            if parsed.flag("help") {
                print(rename(spec.helpText, program: program, command: spec.name))
                return .failure(ExitStatus(code: ExitCode.success))
            }
            return .success((parsed, try bare.parse(arguments)))
        } catch let error as UsageError {
            printError("error: " + rename(error.message, program: program, command: spec.name))
            return .failure(ExitStatus(code: ExitCode.usage))
        } catch {
            printError("error: \(error)")
            return .failure(ExitStatus(code: ExitCode.usage))
        }
    }

    /// The option parser names every command `elide NAME`; daemons are programs of their own.
    private static func rename(_ text: String, program: String?, command: String) -> String {
        guard let program else { return text }
        return text.replacingOccurrences(of: "elide \(command)", with: program)
    }

    /// Parses a duration given in seconds, such as `10` or `0.5`.
    static func seconds(_ options: ParsedOptions, _ name: String) throws -> Duration? {
        guard let value = try options.double(name) else { return nil }
        guard value > 0 else { throw UsageError("invalid value '\(value)' for --\(name): expected seconds > 0") }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    static func address(_ text: String, option: String) throws -> WireAddress {
        do {
            return try WireAddress(parsing: text)
        } catch {
            throw UsageError("invalid value '\(text)' for --\(option): \(error)")
        }
    }

    /// The default folder for Elide's state: `$ELIDE_HOME`, else `~/.cache/elide`.
    static var elideHome: String {
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["ELIDE_HOME"], !home.isEmpty { return home }
        return (environment["HOME"] ?? NSTemporaryDirectory()) + "/.cache/elide"
    }
}

/// An exit code carried through `Result` when a command ends early.
struct ExitStatus: Error {
    let code: Int32
}

/// A JSON config file with the same keys as the command-line flags, for example
/// `{"coordinator": {"listen": "127.0.0.1:7070", "heartbeat-timeout": 10}}`.
struct ConfigFile {
    let values: [String: String]

    /// Reads the object under `section`, or the top-level object when there is no such key.
    init(path: String, section: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError("cannot read config file \(path); check the path")
        }
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw UsageError("config file \(path) is not valid JSON: \(error)")
        }
        guard case .object(let top) = root else { throw UsageError("config file \(path) must hold a JSON object") }
        let object: [String: JSONValue]
        if case .object(let nested)? = top[section] { object = nested } else { object = top }
        var values: [String: String] = [:]
        for (key, value) in object {
            switch value {
            case .string, .number, .bool: values[key] = value.description
            default: continue
            }
        }
        self.values = values
    }
}
