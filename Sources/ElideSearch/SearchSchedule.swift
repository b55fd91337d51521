/// Offspring count, selection stages and initialisation of an EvoPress search.
///
/// Each generation creates `offspringCount` (λ) offspring, then runs the stages in order: every candidate of a
/// stage is scored on the same minibatch of `tokens` tokens and the `survivors` lowest-fitness candidates go on.
/// The last stage also scores the current parents again (elitism) and its survivors become the next parents.
public struct SearchSchedule: Hashable, Codable, Sendable {
    /// One selection stage: how many candidates survive it and how many calibration tokens score each candidate.
    public struct Stage: Hashable, Codable, Sendable {
        public let survivors: Int
        public let tokens: Int

        public init(survivors: Int, tokens: Int) {
            self.survivors = survivors
            self.tokens = tokens
        }
    }

    /// Offspring per generation (λ).
    public let offspringCount: Int
    /// Selection stages in order. The last stage's survivor count is the parent count.
    public let stages: [Stage]
    /// Random genomes scored at initialisation. The best `parentCount` become the first parents.
    public let initialCandidateCount: Int
    /// Calibration tokens that score each initial candidate.
    public let initialTokens: Int

    /// Creates a schedule and checks that every stage keeps at least one and at most all of its candidates.
    public init(offspringCount: Int, stages: [Stage], initialCandidateCount: Int, initialTokens: Int) throws {
        try Self.check(offspringCount, stages, initialCandidateCount, initialTokens)
        self.init(unchecked: offspringCount, stages, initialCandidateCount, initialTokens)
    }

    private init(unchecked offspringCount: Int, _ stages: [Stage], _ initialCount: Int, _ initialTokens: Int) {
        self.offspringCount = offspringCount
        self.stages = stages
        self.initialCandidateCount = initialCount
        self.initialTokens = initialTokens
    }

    /// The schedule of EvoPress's depth experiments: λ = 32, stages (2 survivors, 2,048 tokens) then
    /// (1, 32,768), initialised with the best of 64 random genomes on 2,048 tokens.
    public static let paper = SearchSchedule(
        unchecked: 32, [Stage(survivors: 2, tokens: 2048), Stage(survivors: 1, tokens: 32_768)], 64, 2048)

    /// EvoPress's "super-fast" schedule: λ = 16, stages (1, 512) then (1, 8,192).
    ///
    /// The repository gives no initialisation for it. Elide uses 16 random genomes on 512 tokens, which costs the
    /// same as one generation's first stage and keeps the initial draw as cheap as the rest of the schedule.
    public static let fast = SearchSchedule(
        unchecked: 16, [Stage(survivors: 1, tokens: 512), Stage(survivors: 1, tokens: 8192)], 16, 512)

    /// Parents carried from one generation to the next: the last stage's survivor count.
    public var parentCount: Int { stages[stages.count - 1].survivors }

    /// Candidates scored in each stage: λ in the first, the previous stage's survivors after it, plus the parents
    /// in the last.
    public var candidateCounts: [Int] {
        stages.indices.map { index in
            let incoming = index == 0 ? offspringCount : stages[index - 1].survivors
            return index == stages.count - 1 ? incoming + parentCount : incoming
        }
    }

    /// Candidate-tokens one generation evaluates, Σ candidates × tokens over stages (163,840 for `paper`).
    public var tokensPerGeneration: Int {
        zip(candidateCounts, stages).reduce(0) { $0 + $1.0 * $1.1.tokens }
    }

    private static func check(_ offspring: Int, _ stages: [Stage], _ initialCount: Int, _ initialTokens: Int) throws {
        guard offspring >= 1 else {
            throw SearchConfigurationError.invalidSchedule("offspring count is \(offspring), but it must be at least 1")
        }
        guard !stages.isEmpty else {
            throw SearchConfigurationError.invalidSchedule("it has no selection stage, so add at least one")
        }
        var incoming = offspring
        for (index, stage) in stages.enumerated() {
            let isLast = index == stages.count - 1
            guard stage.tokens >= 1 else {
                throw SearchConfigurationError.invalidSchedule(
                    "stage \(index + 1) scores on \(stage.tokens) tokens, but it needs at least 1")
            }
            // The last stage also scores the parents, whose number is that stage's own survivor count.
            let available = isLast ? incoming + stage.survivors : incoming
            guard stage.survivors >= 1 && stage.survivors <= available else {
                throw SearchConfigurationError.invalidSchedule(
                    "stage \(index + 1) keeps \(stage.survivors) of \(available) candidates, so keep between 1 and "
                        + "\(available)")
            }
            incoming = stage.survivors
        }
        let parents = stages[stages.count - 1].survivors
        guard initialCount >= parents else {
            throw SearchConfigurationError.invalidSchedule(
                "initialisation scores \(initialCount) genomes but the schedule needs \(parents) parents, "
                    + "so score at least \(parents)")
        }
        guard initialTokens >= 1 else {
            throw SearchConfigurationError.invalidSchedule(
                "initialisation scores on \(initialTokens) tokens, but it needs at least 1")
        }
    }
}

// MARK: - Codable

extension SearchSchedule {
    private enum CodingKeys: String, CodingKey {
        case offspringCount
        case stages
        case initialCandidateCount
        case initialTokens
    }

    /// Decodes a schedule and checks it as `init(offspringCount:stages:initialCandidateCount:initialTokens:)` does.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            offspringCount: try container.decode(Int.self, forKey: .offspringCount),
            stages: try container.decode([Stage].self, forKey: .stages),
            initialCandidateCount: try container.decode(Int.self, forKey: .initialCandidateCount),
            initialTokens: try container.decode(Int.self, forKey: .initialTokens))
    }
}

// MARK: - Parsing

extension SearchSchedule {
    /// Parses `paper`, `fast` or an explicit schedule such as `offspring=16,stage=2x2048,stage=1x32768,initial=64x2048`.
    ///
    /// An explicit schedule lists `offspring=λ`, then one `stage=SURVIVORSxTOKENS` per stage in order, and
    /// optionally `initial=CANDIDATESxTOKENS`. Without `initial`, λ genomes are scored on the first stage's tokens.
    public init(parsing text: String) throws {
        switch text {
        case "paper":
            self = .paper
            return
        case "fast":
            self = .fast
            return
        default:
            break
        }
        var offspring: Int?
        var stages: [Stage] = []
        var initial: (count: Int, tokens: Int)?
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw SearchConfigurationError.invalidScheduleSyntax(text, "item '\(item)' is not KEY=VALUE")
            }
            switch parts[0] {
            case "offspring":
                guard offspring == nil, let value = Int(parts[1]) else {
                    throw SearchConfigurationError.invalidScheduleSyntax(
                        text, "give offspring=N exactly once with a whole number")
                }
                offspring = value
            case "stage":
                let pair = try Self.parsePair(parts[1], in: text)
                stages.append(Stage(survivors: pair.0, tokens: pair.1))
            case "initial":
                guard initial == nil else {
                    throw SearchConfigurationError.invalidScheduleSyntax(text, "give initial= at most once")
                }
                initial = try Self.parsePair(parts[1], in: text)
            default:
                throw SearchConfigurationError.invalidScheduleSyntax(
                    text, "unknown key '\(parts[0])', so use offspring, stage or initial")
            }
        }
        guard let offspring else {
            throw SearchConfigurationError.invalidScheduleSyntax(text, "offspring=N is missing")
        }
        let firstTokens = stages.first?.tokens ?? 0
        try self.init(
            offspringCount: offspring, stages: stages, initialCandidateCount: initial?.count ?? offspring,
            initialTokens: initial?.tokens ?? firstTokens)
    }

    private static func parsePair(_ value: Substring, in text: String) throws -> (Int, Int) {
        let numbers = value.split(separator: "x", omittingEmptySubsequences: false)
        guard numbers.count == 2, let first = Int(numbers[0]), let second = Int(numbers[1]) else {
            throw SearchConfigurationError.invalidScheduleSyntax(
                text, "'\(value)' is not COUNTxTOKENS, for example 2x2048")
        }
        return (first, second)
    }
}

// MARK: - CustomStringConvertible

extension SearchSchedule: CustomStringConvertible {
    /// The explicit form that `init(parsing:)` reads back, for example
    /// `offspring=16,stage=1x512,stage=1x8192,initial=16x512`.
    public var description: String {
        let stageItems = stages.map { "stage=\($0.survivors)x\($0.tokens)" }
        return (["offspring=\(offspringCount)"] + stageItems + ["initial=\(initialCandidateCount)x\(initialTokens)"])
            .joined(separator: ",")
    }
}
