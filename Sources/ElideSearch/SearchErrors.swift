/// A search space, genome, schedule or pool that cannot work, found before any evaluation.
public enum SearchConfigurationError: Error, Hashable, Sendable {
    /// The model has fewer layers than a depth search needs.
    case invalidLayerCount(Int)
    /// `--unit pair` on a model with an odd layer count.
    case oddLayerCountForPairs(Int)
    /// A drop value that is neither a whole number nor a decimal.
    case invalidDropTarget(String)
    /// A drop fraction outside (0, 1).
    case dropFractionOutOfRange(Double)
    /// A drop fraction that rounds to no unit or to every unit.
    case dropFractionRoundsOutOfRange(fraction: Double, unit: DepthSearchUnit, unitCount: Int, droppedUnits: Int)
    /// A drop count outside `1..<unitCount`.
    case dropCountOutOfRange(count: Int, unit: DepthSearchUnit, unitCount: Int)
    /// Per-kind drop counts that the unit does not allow.
    case dropCountsInvalid(attention: Int, mlp: Int, unit: DepthSearchUnit, layerCount: Int)
    /// A genome names a layer outside the model.
    case layerIndexOutOfRange(layer: Int, layerCount: Int)
    /// A genome names one layer twice for the same kind of sub-block.
    case duplicateLayerIndex(layer: Int, kind: SubBlockKind)
    /// A genome does not fit a search space.
    case genomeOutsideSpace(genome: DepthGenome, reason: String)
    /// A schedule whose stages cannot run.
    case invalidSchedule(String)
    /// Schedule text that does not parse.
    case invalidScheduleSyntax(String, String)
    /// A calibration pool with no sequences or no tokens.
    case invalidCalibrationPool(sequenceCount: Int, tokensPerSequence: Int)
    /// A minibatch larger than the calibration pool.
    case calibrationPoolTooSmall(purpose: String, tokens: Int, sequenceCount: Int, tokensPerSequence: Int)
    /// A generation count below 1.
    case invalidGenerationCount(Int)
    /// A search space with too few genomes for what the search must draw.
    case searchSpaceTooSmall(configurationCount: Int, required: Int, purpose: String)
    /// A space too large to enumerate.
    case enumerationLimitExceeded(configurationCount: Int, limit: Int)
    /// A baseline candidate count below 1.
    case invalidCandidateCount(Int)
}

extension SearchConfigurationError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidLayerCount(let count):
            return "Layer count \(count) is too small for a depth search. The model needs at least 2 layers."
        case .oddLayerCountForPairs(let count):
            return "Unit pair needs an even layer count, but the model has \(count) layers. Use unit block."
        case .invalidDropTarget(let text):
            return "Drop target '\(text)' is invalid. Pass a fraction of sub-blocks such as 0.25 or a whole count "
                + "such as 15."
        case .dropFractionOutOfRange(let fraction):
            return "Drop fraction \(fraction) is outside (0, 1). Pass the share of sub-blocks to drop, such as "
                + "0.25, or a whole count."
        case .dropFractionRoundsOutOfRange(let fraction, let unit, let unitCount, let dropped):
            return "Drop fraction \(fraction) of \(unitCount) \(unit.rawValue) units rounds to \(dropped), but a "
                + "search needs between 1 and \(unitCount - 1). Choose a fraction between "
                + "1/\(unitCount) and \(unitCount - 1)/\(unitCount), or pass a count."
        case .dropCountOutOfRange(let count, let unit, let unitCount):
            return "Drop count \(count) is outside 1...\(unitCount - 1) for unit \(unit.rawValue), which has "
                + "\(unitCount) units. A search drops at least one unit and keeps at least one."
        case .dropCountsInvalid(let attention, let mlp, let unit, let layerCount):
            return "Dropping \(attention) attention and \(mlp) MLP sub-blocks of \(layerCount) layers does not fit "
                + "unit \(unit.rawValue). " + Self.countRule(unit, layerCount)
        case .layerIndexOutOfRange(let layer, let layerCount):
            return "Layer \(layer) is outside 0..<\(layerCount). Use layer indices of the model."
        case .duplicateLayerIndex(let layer, let kind):
            return "Layer \(layer) appears twice among the dropped \(kind.rawValue) sub-blocks. List each layer once."
        case .genomeOutsideSpace(let genome, let reason):
            return "Genome \(genome) is outside the search space because \(reason)."
        case .invalidSchedule(let reason):
            return "Invalid search schedule: \(reason)."
        case .invalidScheduleSyntax(let text, let reason):
            return "Schedule '\(text)' is invalid: \(reason). Use paper, fast, or a list such as "
                + "offspring=16,stage=2x2048,stage=1x32768,initial=64x2048."
        case .invalidCalibrationPool(let sequences, let tokens):
            return "The calibration pool has \(sequences) sequences of \(tokens) tokens. It needs at least one "
                + "sequence of at least one token, so pass longer calibration text."
        case .calibrationPoolTooSmall(let purpose, let tokens, let sequences, let tokensPerSequence):
            return "The \(purpose) minibatch needs \(tokens) tokens, but the calibration pool contains only "
                + "\(sequences) sequences of \(tokensPerSequence) tokens (\(sequences * tokensPerSequence)). Add "
                + "calibration text or use a schedule with fewer tokens, such as fast."
        case .invalidGenerationCount(let count):
            return "Generation count \(count) is invalid. Pass at least 1, or omit it for the default k(n−k)/1.5."
        case .searchSpaceTooSmall(let size, let required, let purpose):
            return "The search space has \(size) configurations, too few for \(purpose) (\(required) needed). "
                + "Lower the offspring or initial candidate count, or use brute force."
        case .enumerationLimitExceeded(let size, let limit):
            return "The search space has \(size) configurations, more than the brute-force limit of \(limit). "
                + "Use the evolutionary search, or raise the limit if every evaluation is affordable."
        case .invalidCandidateCount(let count):
            return "Candidate count \(count) is invalid. Pass at least 1."
        }
    }

    private static func countRule(_ unit: DepthSearchUnit, _ layerCount: Int) -> String {
        switch unit {
        case .subBlock:
            return "Each count must lie in 0...\(layerCount), with at least one sub-block dropped and one kept."
        case .block:
            return "Both counts must be equal and lie in 1...\(layerCount - 1)."
        case .pair:
            return "Both counts must be equal, even and lie in 2...\(layerCount - 1)."
        }
    }
}

/// A submission or a step of a running search that failed. The search is unchanged after it.
public enum SearchProgressError: Error, Hashable, Sendable {
    /// A submission after the last batch.
    case searchFinished(submittedBatch: Int)
    /// A submission for a batch other than the pending one, for example a late duplicate.
    case unexpectedBatch(submitted: Int, pending: Int)
    /// A submission without a fitness value for some candidates of the batch.
    case missingFitness(batch: Int, candidateIDs: [CandidateID])
    /// A submission with values for candidates that the batch does not hold.
    case unknownCandidates(batch: Int, candidateIDs: [CandidateID])
    /// A fitness value that is NaN or infinite.
    case nonFiniteFitness(batch: Int, candidateID: CandidateID, value: Double)
    /// Mutation found too few new offspring near the parents.
    case offspringExhausted(generation: Int, found: Int, requested: Int, attempts: Int, configurationCount: Int)
}

extension SearchProgressError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .searchFinished(let batch):
            return "Fitness for batch \(batch) arrived after the search finished. Read the result instead."
        case .unexpectedBatch(let submitted, let pending):
            return "Fitness for batch \(submitted) does not match pending batch \(pending). Submit only the batch "
                + "that nextBatch() returns; a late duplicate can be dropped."
        case .missingFitness(let batch, let ids):
            return "Fitness for batch \(batch) is missing for \(ids.count) candidates (\(Self.list(ids))). Submit "
                + "every candidate of the batch at once."
        case .unknownCandidates(let batch, let ids):
            return "Fitness for batch \(batch) names candidates it does not hold (\(Self.list(ids))). Submit only "
                + "the batch's candidate ids."
        case .nonFiniteFitness(let batch, let id, let value):
            return "Fitness of candidate \(id) in batch \(batch) is \(value). The evaluation must return a finite "
                + "value, so check the model and calibration data of that evaluation."
        case .offspringExhausted(let generation, let found, let requested, let attempts, let size):
            return "Generation \(generation) found only \(found) of \(requested) distinct offspring after \(attempts) "
                + "rejected mutations in a space of \(size) configurations. Lower the offspring count or use brute "
                + "force."
        }
    }

    private static func list(_ ids: [CandidateID]) -> String {
        let listed = ids.prefix(8).map(String.init).joined(separator: ", ")
        return ids.count > 8 ? listed + ", …" : listed
    }
}
