import ElideSupport

/// A pluggable job kind: its driver for the coordinator, its executors for workers and its options for
/// the command line. The runtime finds kinds only through a `JobKindRegistry`.
public struct JobKind: Sendable {
    public let name: String
    /// One line for `elide submit --help`.
    public let summary: String
    /// Options of `elide submit <name>`, with defaults; the driver reads them from `JobSpec.options`.
    public let options: [OptionSpec]
    public let makeDriver: @Sendable (JobSpec) throws -> any JobDriver
    public let executors: [any TaskExecutor]
    /// Runs in `elide submit` before the spec leaves the client, for kinds whose options name files that the
    /// coordinator cannot read (the prompts of `inference`): it reads them and puts their contents into the
    /// spec. Errors name the file and the option.
    public let prepare: (@Sendable (JobSpec) throws -> JobSpec)?
    /// Spec options that `prepare` adds; accepted in a spec but not offered on the command line.
    public let preparedOptions: Set<String>

    public init(
        name: String, summary: String, options: [OptionSpec],
        makeDriver: @escaping @Sendable (JobSpec) throws -> any JobDriver, executors: [any TaskExecutor],
        prepare: (@Sendable (JobSpec) throws -> JobSpec)? = nil, preparedOptions: Set<String> = []
    ) {
        self.name = name
        self.summary = summary
        self.options = options
        self.makeDriver = makeDriver
        self.executors = executors
        self.prepare = prepare
        self.preparedOptions = preparedOptions
    }
}

/// The job kinds a coordinator accepts and the executors a worker runs.
public struct JobKindRegistry: Sendable {
    private var kinds: [String: JobKind] = [:]
    private var executors: [String: any TaskExecutor] = [:]

    public init(_ kinds: [JobKind] = []) {
        for kind in kinds { register(kind) }
    }

    /// The kinds every build ships: the diagnostic `sleep` and `matmul`, `evopress`, `inference` and
    /// `federated`.
    public static let builtin = JobKindRegistry([
        SleepJob.kind, MatmulJob.kind, EvoPressJob.kind, InferenceJob.kind, FederatedJob.kind,
    ])

    /// Adds or replaces a kind and its executors.
    public mutating func register(_ kind: JobKind) {
        kinds[kind.name] = kind
        for executor in kind.executors { executors[executor.kind] = executor }
    }

    public var kindNames: [String] { kinds.keys.sorted() }

    public func kind(named name: String) -> JobKind? { kinds[name] }

    public func executor(named name: String) -> (any TaskExecutor)? { executors[name] }

    /// Builds the driver for `spec`, rejecting an unknown kind or invalid options.
    public func makeDriver(for spec: JobSpec) throws -> any JobDriver {
        guard let kind = kinds[spec.kind] else {
            throw JobDriverError(
                "unknown job kind '\(spec.kind)'; known kinds: \(kindNames.joined(separator: ", "))")
        }
        let known = Set(kind.options.map(\.name)).union(kind.preparedOptions)
        for name in spec.options.keys.sorted() where !known.contains(name) {
            throw JobDriverError(
                "unknown option --\(name) for job kind '\(spec.kind)'; see 'elide submit \(spec.kind) --help'")
        }
        return try kind.makeDriver(spec)
    }
}

/// Typed access to a spec's option text, falling back to the kind's defaults.
public struct JobOptions: Sendable {
    private let values: [String: String]
    private let specs: [OptionSpec]
    private let kind: String

    public init(_ spec: JobSpec, options specs: [OptionSpec]) {
        self.values = spec.options
        self.specs = specs
        self.kind = spec.kind
    }

    /// Returns the option as an integer within `range`.
    public func int(_ name: String, in range: ClosedRange<Int>) throws -> Int {
        let text = try value(name)
        guard let number = Int(text), range.contains(number) else {
            throw JobDriverError(
                "invalid value '\(text)' for --\(name) of job kind '\(kind)': expected a whole number in "
                    + "\(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    /// Returns the option as a number within `range`.
    public func double(_ name: String, in range: ClosedRange<Double>) throws -> Double {
        let text = try value(name)
        guard let number = Double(text), range.contains(number) else {
            throw JobDriverError(
                "invalid value '\(text)' for --\(name) of job kind '\(kind)': expected a number in "
                    + "\(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    private func value(_ name: String) throws -> String {
        if let text = values[name] { return text }
        if let fallback = specs.first(where: { $0.name == name })?.defaultValue { return fallback }
        throw JobDriverError("missing option --\(name) for job kind '\(kind)'")
    }
}
