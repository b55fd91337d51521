import ElideEngine
import ElideSearch
import Foundation

/// The coordinator side of `evopress`: a deterministic state machine that turns the job's phases into tasks
/// (see `EvoPressJob`) and their outputs into the report.
///
/// Candidate evaluations are cut into one task per (genome, calibration sequence, token count). Their KL sums
/// are kept by that key, so a key scored once is never sent again, and a batch is submitted to its search as
/// soon as every key it needs is known. The values do not depend on which worker computed them, so neither do
/// the searches nor the report. Only the task count can vary with the arrival order, when two searches need
/// the same key at about the same time.
struct EvoPressDriver: JobDriver {
    let settings: EvoPressSettings
    let seed: UInt64

    /// The work of an outstanding task.
    enum Assignment: Sendable {
        case heldOut(configuration: String, chunk: Int)
        case statistics(poolID: Int)
        case divergence(DivergenceKey)
    }

    /// One genome on the first `tokens` tokens of one pool sequence.
    struct DivergenceKey: Hashable, Sendable {
        var genome: DepthGenome
        var poolID: Int
        var tokens: Int
    }

    /// The search a batch belongs to. Completed batches are submitted in the order of the cases.
    enum SearchName: String, Sendable, CaseIterable {
        case bruteForce = "brute_force"
        case evoPress = "evopress"
        case random
    }

    private var nextTaskIndex: UInt64 = 0
    private var assignments: [UInt64: (assignment: Assignment, stage: String)] = [:]
    private(set) var clocks = EvoPressStageClocks()

    // Phase 1 and 3: held-out perplexity per configuration, by name.
    private(set) var heldOut: [String: HeldOutProgress] = [:]
    private(set) var heldOutOrder: [String] = []
    private(set) var facts: ModelFacts?
    private var densePassed = false
    /// True once the dense model's held-out perplexity passed `DenseModelCheck`.
    var isDenseChecked: Bool { densePassed }

    // Phase 2: the searches and what they wait for.
    private(set) var space: DepthSearchSpace?
    private(set) var poolToCalibration: [Int] = []
    private(set) var evoPress: EvoPressSearch?
    /// EvoPress's configuration, kept until the search starts: with `--init baselines` it waits for the
    /// baseline plans, which join its initial candidates.
    private var pendingEvoPress: EvoPressConfiguration?
    private(set) var random: RandomSampleSearch?
    private(set) var bruteForce: BruteForceSearch?
    private var divergences: [DivergenceKey: SequenceKL] = [:]
    private var inFlight: Set<DivergenceKey> = []
    private var statisticsParts: [Int: [BoundaryStatistics]] = [:]
    private var statisticsTokens: [Int: Int] = [:]
    private(set) var statistics: [BoundaryPair: BoundaryStatistics]?
    /// Plans by configuration name, in report order, as they become known.
    private(set) var plans: [String: CompressionPlan] = [:]
    private(set) var generationSeconds: [Double] = []

    init(spec: JobSpec) throws {
        settings = try EvoPressSettings(spec: spec)
        seed = spec.seed
    }

    // MARK: - JobDriver

    mutating func start() throws -> DriverStep {
        let tasks = try startHeldOut(configuration: "dense", plan: nil)
        return DriverStep(newTasks: tasks, progress: progress)
    }

    mutating func handle(taskIndex: UInt64, output: [UInt8]) throws -> DriverStep {
        guard let (assignment, stage) = assignments.removeValue(forKey: taskIndex) else {
            throw JobDriverError("evopress job received an unexpected or repeated result for task \(taskIndex)")
        }
        let result = try EvoPressTaskOutput.decode(output, task: taskIndex)
        clocks.record(stage: stage, startedAt: result.startedAt, finishedAt: result.finishedAt)

        var tasks: [TaskRequest] = []
        switch assignment {
        case .heldOut(let configuration, let chunk):
            tasks += try receiveHeldOut(configuration: configuration, chunk: chunk, result, task: taskIndex)
        case .statistics(let poolID):
            tasks += try receiveStatistics(poolID: poolID, result, task: taskIndex)
        case .divergence(let key):
            tasks += try receiveDivergence(key, result, task: taskIndex)
        }
        if isFinished {
            return DriverStep(newTasks: tasks, progress: progress, report: try EvoPressReport(driver: self).report())
        }
        return DriverStep(newTasks: tasks, progress: progress)
    }

    /// True once every search, the baselines and every held-out perplexity are done.
    var isFinished: Bool {
        guard densePassed, statistics != nil, let evoPress, evoPress.isFinished, let random, random.isFinished
        else { return false }
        if settings.bruteForce && !(bruteForce?.isFinished ?? false) { return false }
        return heldOutOrder.count == expectedConfigurations.count && heldOut.values.allSatisfy(\.isComplete)
    }

    var expectedConfigurations: [String] {
        ["dense", "evopress", "shortgpt", "window", "random"] + (settings.bruteForce ? ["bruteforce"] : [])
    }

    // MARK: - Tasks

    private mutating func makeTask(_ assignment: Assignment, stage: String, work: EvoPressTask.Work) throws
        -> TaskRequest
    {
        let index = nextTaskIndex
        nextTaskIndex += 1
        assignments[index] = (assignment, stage)
        let payload = try EvoPressTask(environment: settings.environment, work: work).encoded()
        return TaskRequest(index: index, executor: EvoPressJob.executorKind, payload: payload)
    }

    // MARK: - Held-out perplexity

    /// Windows of the held-out tokens: one per start 0, context, 2·context, … that leaves at least one prediction.
    var heldOutWindowCount: Int {
        (settings.environment.evaluationTokens - 1 + settings.context - 1) / settings.context
    }

    private mutating func startHeldOut(configuration: String, plan: CompressionPlan?) throws -> [TaskRequest] {
        let windows = heldOutWindowCount
        let chunkCount = (windows + settings.windowsPerTask - 1) / settings.windowsPerTask
        heldOut[configuration] = HeldOutProgress(plan: plan, chunkCount: chunkCount)
        heldOutOrder.append(configuration)
        let stage = configuration == "dense" ? "dense_check" : "heldout"
        var tasks: [TaskRequest] = []
        for chunk in 0..<chunkCount {
            let first = chunk * settings.windowsPerTask
            let range = first..<min(first + settings.windowsPerTask, windows)
            tasks.append(
                try makeTask(
                    .heldOut(configuration: configuration, chunk: chunk), stage: stage,
                    work: .heldOut(plan: plan, windows: range)))
        }
        return tasks
    }

    private mutating func receiveHeldOut(
        configuration: String, chunk: Int, _ result: EvoPressTaskOutput, task: UInt64
    ) throws -> [TaskRequest] {
        guard let sum = result.negativeLogLikelihoodSum, let scored = result.scoredTokens, scored > 0 else {
            throw JobDriverError("evopress held-out task \(task) returned no log-likelihood")
        }
        // !-safe: an assignment for `configuration` exists only after `startHeldOut` created its entry.
        heldOut[configuration]!.parts[chunk] = HeldOutProgress.Part(negativeLogLikelihoodSum: sum, scoredTokens: scored)
        if let reported = result.facts {
            if let facts, facts != reported {
                throw JobDriverError(
                    "workers disagree about the model or texts (\(facts) against \(reported)); every worker must "
                        + "read the same files at the same paths")
            }
            facts = reported
        }
        guard configuration == "dense", !densePassed, heldOut["dense"]?.isComplete == true else { return [] }
        return try finishDenseCheck()
    }

    /// Validates the dense perplexity and starts the searches.
    private mutating func finishDenseCheck() throws -> [TaskRequest] {
        guard let facts, let dense = heldOut["dense"], let perplexity = dense.perplexity else {
            throw JobDriverError(
                "the dense held-out tasks returned no model facts; the worker may run a different build")
        }
        do {
            try DenseModelCheck.validate(
                perplexity: perplexity, scoredTokens: dense.scoredTokens, modelPath: settings.environment.modelPath,
                tokenizer: facts.tokenizer, textNames: facts.evaluationDocuments)
        } catch {
            throw JobDriverError("dense model check failed: \(error)")
        }
        densePassed = true
        return try startSearches(facts: facts)
    }

    // MARK: - Searches

    private mutating func startSearches(facts: ModelFacts) throws -> [TaskRequest] {
        let layers = settings.searchLayerCount ?? facts.layerCount
        guard layers <= facts.layerCount else {
            throw JobDriverError(
                "invalid value \(layers) for --search-layers: the model has \(facts.layerCount) layers")
        }
        let available = facts.calibrationSequenceCount
        let poolCount = settings.poolSequenceCount ?? min(settings.defaultPoolSequenceCount, available)
        guard poolCount <= available else {
            throw JobDriverError(
                "--calibration-sequences \(poolCount) exceeds the \(available) sequences of "
                    + "\(settings.context) tokens in the calibration files; pass more text or fewer sequences")
        }
        // Spread the pool evenly over the calibration set, so every calibration file contributes.
        poolToCalibration = (0..<poolCount).map { $0 * available / poolCount }

        do {
            let space = try DepthSearchSpace(layerCount: layers, unit: settings.unit, target: settings.target)
            let pool = try CalibrationPool(sequenceCount: poolCount, tokensPerSequence: settings.context)
            let configuration = try EvoPressConfiguration(
                space: space, schedule: settings.schedule, generationCount: settings.generationCount,
                calibration: pool)
            self.space = space
            switch settings.initialisation {
            case .random: evoPress = try EvoPressSearch(configuration: configuration, seed: seed)
            case .baselines: pendingEvoPress = configuration
            }
            random = try RandomSampleSearch(
                space: space, candidateCount: randomCandidateCount(in: space), tokens: settings.effectiveRandomTokens,
                calibration: pool, seed: seed)
            if settings.bruteForce {
                bruteForce = try BruteForceSearch(
                    space: space, tokens: settings.schedule.stages[settings.schedule.stages.count - 1].tokens,
                    calibration: pool, seed: seed)
            }
        } catch let error as JobDriverError {
            throw error
        } catch {
            throw JobDriverError("invalid search configuration: \(error)")
        }

        var tasks: [TaskRequest] = []
        for poolID in 0..<poolCount {
            tasks.append(
                try makeTask(
                    .statistics(poolID: poolID), stage: "baseline_statistics",
                    work: .boundaryStatistics(
                        sequenceIDs: [poolToCalibration[poolID]], tokens: settings.context,
                        pairs: try EvoPressBaselines.allPairs(space!))))  // !-safe: set above
        }
        tasks += try advanceSearches()
        return tasks
    }

    /// Returns the random baseline's candidate count: `--random-candidates`, or every configuration of a
    /// smaller space.
    func randomCandidateCount(in space: DepthSearchSpace) -> Int {
        min(settings.randomCandidateCount, space.configurationCount)
    }

    /// The searches whose batches may be sent now. With `--brute-force`, EvoPress and the random baseline
    /// wait for the exhaustive batch, so they find its KL sums already known instead of computing them again.
    private var activeSearches: [SearchName] {
        if settings.bruteForce, !(bruteForce?.isFinished ?? false) { return [.bruteForce] }
        return SearchName.allCases
    }

    private func pendingBatch(_ name: SearchName) -> EvaluationBatch? {
        switch name {
        case .bruteForce: bruteForce?.nextBatch()
        case .evoPress: evoPress?.nextBatch()
        case .random: random?.nextBatch()
        }
    }

    /// Submits every batch whose KL sums are all known, repeatedly, then creates tasks for the keys the
    /// remaining batches still need.
    private mutating func advanceSearches() throws -> [TaskRequest] {
        var progressed = true
        while progressed {
            progressed = false
            for name in activeSearches {
                guard let batch = pendingBatch(name), let fitness = try fitness(of: batch) else { continue }
                try submit(fitness, batch: batch, to: name)
                progressed = true
            }
        }

        var tasks: [TaskRequest] = []
        for name in activeSearches {
            guard let batch = pendingBatch(name) else { continue }
            for candidate in batch.candidates {
                for slice in batch.minibatch.sequences {
                    let key = DivergenceKey(
                        genome: candidate.genome, poolID: slice.sequenceID, tokens: slice.tokenCount)
                    guard divergences[key] == nil, inFlight.insert(key).inserted else { continue }
                    let plan = try self.plan(for: key.genome)
                    tasks.append(
                        try makeTask(
                            .divergence(key), stage: name.rawValue,
                            work: .divergence(
                                plan: plan, sequenceIDs: [poolToCalibration[key.poolID]], tokens: key.tokens)))
                }
            }
        }
        return tasks
    }

    /// Returns the mean KL of every candidate of `batch`, or nil while a sequence's sum is missing.
    private func fitness(of batch: EvaluationBatch) throws -> [CandidateID: Double]? {
        var fitness: [CandidateID: Double] = [:]
        for candidate in batch.candidates {
            var aggregate = FitnessAggregate()
            for slice in batch.minibatch.sequences {
                let key = DivergenceKey(genome: candidate.genome, poolID: slice.sequenceID, tokens: slice.tokenCount)
                guard let part = divergences[key] else { return nil }
                try aggregate.add(
                    SequenceDivergence(
                        sequenceID: slice.sequenceID, divergenceSum: part.klSum, tokenCount: part.tokenCount))
            }
            try aggregate.validate(covering: batch.minibatch)
            fitness[candidate.id] = try aggregate.mean()
        }
        return fitness
    }

    private mutating func submit(_ fitness: [CandidateID: Double], batch: EvaluationBatch, to name: SearchName) throws {
        switch name {
        case .bruteForce:
            try bruteForce?.submit(batch: batch.index, fitness: fitness)
            if bruteForce?.isFinished == true { try startPlanIfReady("bruteforce", bruteForce?.best?.genome) }
        case .evoPress:
            let before = evoPress?.history.count ?? 0
            try evoPress?.submit(batch: batch.index, fitness: fitness)
            if (evoPress?.history.count ?? 0) > before { generationSeconds.append(clocks.closeGeneration()) }
            if evoPress?.isFinished == true { try startPlanIfReady("evopress", evoPress?.best?.genome) }
        case .random:
            try random?.submit(batch: batch.index, fitness: fitness)
            if random?.isFinished == true { try startPlanIfReady("random", random?.best?.genome) }
        }
    }

    private mutating func receiveDivergence(_ key: DivergenceKey, _ result: EvoPressTaskOutput, task: UInt64) throws
        -> [TaskRequest]
    {
        guard let parts = result.divergences, parts.count == 1, parts[0].sequenceID == poolToCalibration[key.poolID]
        else {
            throw JobDriverError("evopress divergence task \(task) returned a result for other sequences")
        }
        inFlight.remove(key)
        divergences[key] = parts[0]
        var tasks = try advanceSearches()
        tasks += try pendingPlanTasks()
        return tasks
    }

    // MARK: - Baselines

    private mutating func receiveStatistics(poolID: Int, _ result: EvoPressTaskOutput, task: UInt64) throws
        -> [TaskRequest]
    {
        guard let parts = result.statistics else {
            throw JobDriverError("evopress statistics task \(task) returned no statistics")
        }
        statisticsParts[poolID] = parts
        statisticsTokens[poolID] = settings.context
        guard statisticsParts.count == poolToCalibration.count, let space else { return try pendingPlanTasks() }

        // Token-weighted means over the pool, summed in pool order.
        var combined: [BoundaryPair: BoundaryStatistics] = [:]
        let totalTokens = Double(statisticsTokens.values.reduce(0, +))
        for poolID in 0..<poolToCalibration.count {
            // !-safe: every pool id has its part, checked by the count above.
            let weight = Double(statisticsTokens[poolID]!) / totalTokens
            for part in statisticsParts[poolID]! {
                var entry = combined[part.pair] ?? BoundaryStatistics(pair: part.pair, influence: 0, angularDistance: 0)
                entry.influence += part.influence * weight
                entry.angularDistance += part.angularDistance * weight
                combined[part.pair] = entry
            }
        }
        statistics = combined
        let shortGPT = try EvoPressBaselines.shortGPTGenome(space, statistics: combined)
        let window = try EvoPressBaselines.windowGenome(space, statistics: combined)
        try startPlanIfReady("shortgpt", shortGPT)
        try startPlanIfReady("window", window)
        var tasks: [TaskRequest] = []
        if let configuration = pendingEvoPress {
            pendingEvoPress = nil
            evoPress = try EvoPressSearch(configuration: configuration, seed: seed, seedGenomes: [window, shortGPT])
            tasks += try advanceSearches()
        }
        return tasks + (try pendingPlanTasks())
    }

    // MARK: - Plans

    /// Plans whose held-out tasks are not created yet, in `expectedConfigurations` order.
    private var queuedPlans: [String] = []

    private mutating func startPlanIfReady(_ name: String, _ genome: DepthGenome?) throws {
        guard let genome, plans[name] == nil else { return }
        plans[name] = try plan(for: genome)
        queuedPlans.append(name)
    }

    /// Creates the held-out tasks of the plans found since the last call.
    private mutating func pendingPlanTasks() throws -> [TaskRequest] {
        let names = queuedPlans
        queuedPlans = []
        var tasks: [TaskRequest] = []
        for name in names {
            tasks += try startHeldOut(configuration: name, plan: plans[name])
        }
        return tasks
    }

    /// Returns the whole-model plan of a genome over the searched layers. Layers after them are kept.
    func plan(for genome: DepthGenome) throws -> CompressionPlan {
        guard let facts else { throw JobDriverError("evopress job built a plan before the model facts arrived") }
        return CompressionPlan(
            layers: facts.layerCount, attentionDropped: genome.droppedAttention, mlpDropped: genome.droppedMLP)
    }

    // MARK: - Progress

    var progress: JobProgress {
        let total = evoPress?.configuration.generationCount ?? settings.generationCount ?? 0
        let done = evoPress?.finishedGenerationCount ?? 0
        return JobProgress(completed: done, total: total, detail: EvoPressProgress.detail(self))
    }
}

/// Held-out perplexity of one configuration, assembled from its chunks.
struct HeldOutProgress: Sendable {
    struct Part: Sendable {
        var negativeLogLikelihoodSum: Double
        var scoredTokens: Int
    }

    let plan: CompressionPlan?
    var parts: [Part?]

    init(plan: CompressionPlan?, chunkCount: Int) {
        self.plan = plan
        parts = Array(repeating: nil, count: chunkCount)
    }

    var isComplete: Bool { parts.allSatisfy { $0 != nil } }

    var scoredTokens: Int { parts.reduce(0) { $0 + ($1?.scoredTokens ?? 0) } }

    /// exp(Σ NLL / Σ scored), summed in chunk order; nil until every chunk is in.
    var perplexity: Double? {
        guard isComplete else { return nil }
        let sum = parts.reduce(0.0) { $0 + ($1?.negativeLogLikelihoodSum ?? 0) }
        return exp(sum / Double(scoredTokens))
    }
}
