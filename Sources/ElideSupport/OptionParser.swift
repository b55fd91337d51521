/// Describes one `--name value` option or `--name` flag of a command.
public struct OptionSpec: Sendable {
    public let name: String
    /// Placeholder shown in help (`--model PATH`); nil marks a flag that takes no value.
    public let valueName: String?
    public let help: String
    /// Value used when the option is absent; shown in help as `(default: …)`.
    public let defaultValue: String?
    public let isRequired: Bool

    public init(
        _ name: String, value valueName: String? = nil, help: String, default defaultValue: String? = nil,
        required isRequired: Bool = false
    ) {
        self.name = name
        self.valueName = valueName
        self.help = help
        self.defaultValue = defaultValue
        self.isRequired = isRequired
    }

    public static func flag(_ name: String, help: String) -> OptionSpec {
        OptionSpec(name, value: nil, help: help)
    }
}

/// A usage error: the message names the offending argument and, where it can, the fix.
/// Command-line programs exit with 64 (`EX_USAGE`) on it.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Exit codes shared by every Elide executable.
public enum ExitCode {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 64
}

/// A command's options, modelled on swift-argument-parser: `--name value`, `--name=value` and flags,
/// help text listing every option with its default, and a suggestion for an unknown option.
public struct CommandSpec: Sendable {
    public let name: String
    public let summary: String
    public let options: [OptionSpec]
    /// Names of positional arguments, shown in the usage line; extra positionals are a usage error.
    public let positionals: [String]

    public init(name: String, summary: String, options: [OptionSpec], positionals: [String] = []) {
        self.name = name
        self.summary = summary
        self.options = options + [.flag("help", help: "Show this help and exit.")]
        self.positionals = positionals
    }

    /// Parses `arguments` (without the command name). Throws `UsageError` for unknown options, missing values,
    /// missing required options and surplus positionals.
    public func parse(_ arguments: [String]) throws -> ParsedOptions {
        var values: [String: String] = [:]
        var flags: Set<String> = []
        var positionalValues: [String] = []
        var index = 0

        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                positionalValues.append(argument)
                continue
            }

            var name = String(argument.dropFirst(2))
            var inlineValue: String? = nil
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let option = options.first(where: { $0.name == name }) else {
                throw UsageError(unknownOptionMessage(name))
            }

            if option.valueName == nil {
                if inlineValue != nil {
                    throw UsageError("option --\(name) is a flag and takes no value")
                }
                flags.insert(name)
            } else if let inlineValue {
                values[name] = inlineValue
            } else {
                guard index < arguments.count else {
                    throw UsageError("option --\(name) needs a value: --\(name) \(option.valueName!)")
                }
                values[name] = arguments[index]
                index += 1
            }
        }

        let parsed = ParsedOptions(
            command: name, values: values, flags: flags, positionals: positionalValues,
            specs: options)
        if parsed.flag("help") { return parsed }

        for option in options where option.isRequired && values[option.name] == nil {
            throw UsageError(
                "missing required option --\(option.name) \(option.valueName ?? "")"
                    + "; see 'elide \(name) --help'")
        }
        if positionalValues.count > positionals.count {
            let surplus = positionalValues[positionals.count]
            throw UsageError("unexpected argument '\(surplus)' for 'elide \(name)'; see 'elide \(name) --help'")
        }
        return parsed
    }

    private func unknownOptionMessage(_ name: String) -> String {
        var message = "unknown option --\(name) for 'elide \(self.name)'"
        let nearest = options.map { ($0.name, editDistance($0.name, name)) }.min { $0.1 < $1.1 }
        // Suggest only close names: within a third of the typed length, at least 1, at most 3 edits.
        if let (candidate, distance) = nearest, distance <= max(1, min(3, name.count / 3)) {
            message += "; did you mean --\(candidate)?"
        } else {
            message += "; see 'elide \(self.name) --help'"
        }
        return message
    }

    /// Help in swift-argument-parser's layout: OVERVIEW, USAGE and OPTIONS with defaults.
    public var helpText: String {
        var usage = "elide \(name)"
        for positional in positionals { usage += " <\(positional)>" }
        for option in options where option.isRequired {
            usage += " --\(option.name) \(option.valueName ?? "")"
        }
        if options.contains(where: { !$0.isRequired }) { usage += " [options]" }

        var lines = ["OVERVIEW: \(summary)", "", "USAGE: \(usage)", "", "OPTIONS:"]
        for option in options {
            var left = "  --\(option.name)"
            if let valueName = option.valueName { left += " \(valueName)" }
            var right = option.help
            if let defaultValue = option.defaultValue { right += " (default: \(defaultValue))" }
            if option.isRequired { right += " (required)" }
            let padded = left.count < 28 ? left + String(repeating: " ", count: 28 - left.count) : left + "  "
            lines.append(padded + right)
        }
        return lines.joined(separator: "\n")
    }
}

/// The result of `CommandSpec.parse`: typed accessors fall back to each option's default.
public struct ParsedOptions: Sendable {
    public let command: String
    let values: [String: String]
    let flags: Set<String>
    public let positionals: [String]
    let specs: [OptionSpec]

    public func flag(_ name: String) -> Bool { flags.contains(name) }

    public func string(_ name: String) -> String? {
        values[name] ?? specs.first(where: { $0.name == name })?.defaultValue
    }

    /// Returns the value of a required option; `parse` has already rejected its absence.
    public func required(_ name: String) throws -> String {
        guard let value = string(name) else { throw UsageError("missing required option --\(name)") }
        return value
    }

    public func int(_ name: String) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text) else {
            throw UsageError("invalid value '\(text)' for --\(name): expected a whole number")
        }
        return value
    }

    public func double(_ name: String) throws -> Double? {
        guard let text = string(name) else { return nil }
        guard let value = Double(text), value.isFinite else {
            throw UsageError("invalid value '\(text)' for --\(name): expected a number")
        }
        return value
    }

    /// Parses a value that must be one of `choices`.
    public func choice(_ name: String, _ choices: [String]) throws -> String? {
        guard let text = string(name) else { return nil }
        guard choices.contains(text) else {
            throw UsageError(
                "invalid value '\(text)' for --\(name): expected one of \(choices.joined(separator: ", "))")
        }
        return text
    }
}

/// Levenshtein distance between two strings, by Unicode scalars.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars)
    let b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
