/// Everything an EvoPress depth search needs besides its seed.
public struct EvoPressConfiguration: Hashable, Codable, Sendable {
    public let space: DepthSearchSpace
    public let schedule: SearchSchedule
    /// Generations after initialisation, by default `space.defaultGenerationCount`.
    public let generationCount: Int
    public let calibration: CalibrationPool

    /// Checks that the space contains enough distinct genomes for the schedule and that every minibatch fits the pool.
    public init(
        space: DepthSearchSpace, schedule: SearchSchedule, generationCount: Int? = nil, calibration: CalibrationPool
    ) throws {
        let generations = generationCount ?? space.defaultGenerationCount
        guard generations >= 1 else {
            throw SearchConfigurationError.invalidGenerationCount(generations)
        }

        // The initial draw needs distinct genomes, and every generation needs λ offspring that differ from each
        // other and from the parents. All of them lie within three level switches of a single parent, so that
        // neighbourhood must hold λ genomes besides the other parents.
        let spaceSize = space.configurationCount
        guard spaceSize >= schedule.initialCandidateCount else {
            throw SearchConfigurationError.searchSpaceTooSmall(
                configurationCount: spaceSize, required: schedule.initialCandidateCount,
                purpose: "\(schedule.initialCandidateCount) distinct initial candidates")
        }
        let neighbours = space.neighbourhoodSize(maximumSwaps: LevelSwitchMutation.maximumSwitchCount)
        let required = schedule.offspringCount + schedule.parentCount - 1
        guard neighbours >= required else {
            throw SearchConfigurationError.searchSpaceTooSmall(
                configurationCount: spaceSize, required: required,
                purpose: "\(schedule.offspringCount) distinct offspring within three level switches of a parent, "
                    + "which has \(neighbours) such neighbours")
        }

        try calibration.checkCapacity(tokens: schedule.initialTokens, purpose: "initialisation")
        for (index, stage) in schedule.stages.enumerated() {
            try calibration.checkCapacity(tokens: stage.tokens, purpose: "selection stage \(index + 1)")
        }

        self.space = space
        self.schedule = schedule
        self.generationCount = generations
        self.calibration = calibration
    }
}

extension EvoPressConfiguration {
    private enum CodingKeys: String, CodingKey {
        case space
        case schedule
        case generationCount
        case calibration
    }

    /// Decodes a configuration and checks it as `init(space:schedule:generationCount:calibration:)` does.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            space: try container.decode(DepthSearchSpace.self, forKey: .space),
            schedule: try container.decode(SearchSchedule.self, forKey: .schedule),
            generationCount: try container.decode(Int.self, forKey: .generationCount),
            calibration: try container.decode(CalibrationPool.self, forKey: .calibration))
    }
}
