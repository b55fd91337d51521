import ElideModels
import ElideTensor
import Foundation

/// Picks FFN-SkipLLM's cold regions, skip count k and threshold τ that reach a target skip ratio
/// (see `FeedForwardSkipCount`) on calibration text.
///
/// 1. A dense, teacher-forced decode of the calibration sequences records every FFN block's cosine and
///    relative update (`FeedForwardCosineTrace`).
/// 2. For every cold start and cold end in `1...maxColdLayers` and every k in `skipCounts`, a bisection
///    finds the τ at which replaying the skip rule on the recorded cosines reaches the target. Among the
///    candidates that reach it, the one whose skipped blocks have the smallest summed relative update is
///    kept: skipping a block removes its update from the residual stream, so this estimates the damage.
/// 3. Replaying uses dense states, but once blocks are skipped the later states change. So up to
///    `refinementPasses` real decodes with the policy active measure the actual ratio, and each pass moves
///    the replay's goal by the remaining error before τ is solved again. The pass closest to the target wins.
public struct FeedForwardSkipCalibrator {
    /// Calibration settings; each default is sized for a few minutes on two cores.
    public struct Settings: Sendable {
        /// Target skip ratio, 0 < target < 1.
        public var targetRatio: Double
        /// Generated tokens that run densely before skipping starts (FFN-SkipLLM's W).
        public var warmupTokens = 16
        /// Tokens of each calibration sequence given as the prefill; the rest are decoded one at a time.
        public var promptTokens = 32
        /// Largest cold start and cold end tried; nil means a quarter of the layers (at least 1).
        public var maxColdLayers: Int? = nil
        /// Values of k tried.
        public var skipCounts = [1, 2, 3, 4]
        /// Real decodes with the policy active that correct τ; 0 keeps the replay's τ.
        public var refinementPasses = 3
        /// A real pass whose ratio is within this distance of the target ends the refinement.
        public var tolerance = 0.01

        public init(targetRatio: Double) {
            self.targetRatio = targetRatio
        }
    }

    /// One real decode with the policy active during the refinement.
    public struct Pass: Sendable, Codable {
        public var threshold: Float
        public var replayRatio: Double
        public var measuredRatio: Double

        enum CodingKeys: String, CodingKey {
            case threshold
            case replayRatio = "replay_ratio"
            case measuredRatio = "measured_ratio"
        }
    }

    /// The chosen policy and how it was reached.
    public struct Calibration: Sendable {
        public var policy: FeedForwardSkipPolicy
        public var targetRatio: Double
        /// The ratio of replaying the policy on the dense trace.
        public var replayRatio: Double
        /// The ratio of the best real pass; nil without refinement passes.
        public var measuredRatio: Double?
        /// Mean relative update of the skipped blocks per decode step, on the dense trace.
        public var estimatedDamage: Double
        public var passes: [Pass]
        /// Candidates (cold start, cold end, k) that reached the target on the replay.
        public var feasibleCandidates: Int
        public var candidates: Int
    }

    public let model: LlamaModel
    public let mask: SubBlockMask
    public let precision: ActivationPrecision
    public let pool: ThreadPool

    public init(model: LlamaModel, mask: SubBlockMask?, precision: ActivationPrecision, pool: ThreadPool) {
        self.model = model
        self.mask = mask ?? .dense(layers: model.configuration.blockCount)
        self.precision = precision
        self.pool = pool
    }

    /// Calibrates on `sequences`, recording their dense trace first. `progress` receives one line per step.
    public func calibrate(
        sequences: [[Int]], settings: Settings, progress: (String) -> Void = { _ in }
    ) throws -> Calibration {
        try validate(sequences: sequences, settings: settings)
        let trace = FeedForwardCosineTrace.record(
            model: model, mask: mask, precision: precision, pool: pool, sequences: sequences,
            promptTokens: settings.promptTokens, warmupTokens: settings.warmupTokens
        ) { done, total in progress("dense trace: sequence \(done)/\(total)") }
        return try calibrate(sequences: sequences, trace: trace, settings: settings, progress: progress)
    }

    /// Calibrates with an already recorded dense trace of `sequences` (the same prompt and warm-up).
    public func calibrate(
        sequences: [[Int]], trace: FeedForwardCosineTrace, settings: Settings, progress: (String) -> Void = { _ in }
    ) throws -> Calibration {
        try validate(sequences: sequences, settings: settings)
        let replay = FeedForwardSkipReplay(trace: trace, mask: mask)
        let maxCold = settings.maxColdLayers ?? max(1, mask.layerCount / 4)
        var best: (policy: FeedForwardSkipPolicy, result: FeedForwardSkipReplay.Result)?
        var feasible = 0
        var candidates = 0
        for skipCount in settings.skipCounts {
            for coldStart in 1...max(1, maxCold) {
                for coldEnd in 1...max(1, maxCold) where coldStart + coldEnd < mask.layerCount {
                    candidates += 1
                    let regions = FeedForwardSkipPolicy(
                        warmupTokens: settings.warmupTokens, coldStart: coldStart, coldEnd: coldEnd, threshold: 1,
                        skipCount: skipCount)
                    let (policy, result) = replay.solveThreshold(regions: regions, goal: settings.targetRatio)
                    guard result.count.ratio >= settings.targetRatio - settings.tolerance else { continue }
                    feasible += 1
                    if best == nil || result.damage < best!.result.damage {  // !-safe: checked just before.
                        best = (policy, result)
                    }
                }
            }
        }
        guard let best else {
            throw CalibrationError(
                "no cold regions in 1...\(maxCold) layers and k in \(settings.skipCounts) reach a skip ratio of "
                    + "\(settings.targetRatio) on the calibration text; lower --target-skip or raise the skip counts")
        }
        progress(
            "replay: cold_start \(best.policy.coldStart), cold_end \(best.policy.coldEnd), "
                + "k \(best.policy.skipCount), threshold \(best.policy.threshold), ratio \(best.result.count.ratio)")

        var calibration = Calibration(
            policy: best.policy, targetRatio: settings.targetRatio, replayRatio: best.result.count.ratio,
            measuredRatio: nil, estimatedDamage: best.result.damage, passes: [], feasibleCandidates: feasible,
            candidates: candidates)
        refine(&calibration, replay: replay, sequences: sequences, settings: settings, progress: progress)
        return calibration
    }

    /// Corrects τ with real decodes, keeping the pass closest to the target.
    private func refine(
        _ calibration: inout Calibration, replay: FeedForwardSkipReplay, sequences: [[Int]], settings: Settings,
        progress: (String) -> Void
    ) {
        var goal = settings.targetRatio
        var policy = calibration.policy
        var replayRatio = calibration.replayRatio
        for pass in 0..<settings.refinementPasses {
            let measured = measureRatio(policy: policy, sequences: sequences, promptTokens: settings.promptTokens)
            calibration.passes.append(
                Pass(threshold: policy.threshold, replayRatio: replayRatio, measuredRatio: measured))
            progress(
                "refinement pass \(pass + 1)/\(settings.refinementPasses): threshold \(policy.threshold), ratio \(measured)"
            )
            let error = abs(measured - settings.targetRatio)
            if calibration.measuredRatio.map({ error < abs($0 - settings.targetRatio) }) ?? true {
                calibration.policy = policy
                calibration.measuredRatio = measured
                calibration.replayRatio = replayRatio
            }
            if error <= settings.tolerance { break }
            goal = min(max(goal + settings.targetRatio - measured, 0), 1)
            let solved = replay.solveThreshold(regions: policy, goal: goal)
            policy = solved.policy
            replayRatio = solved.result.count.ratio
        }
    }

    /// Decodes `sequences` with `policy` active and returns the skip ratio.
    public func measureRatio(policy: FeedForwardSkipPolicy, sequences: [[Int]], promptTokens: Int) -> Double {
        let capacity = sequences.map(\.count).max() ?? 1
        let session = LlamaSession(model: model, capacity: capacity, precision: precision, mask: mask, pool: pool)
        var total = FeedForwardSkipCount()
        for tokens in sequences {
            session.reset()
            session.forward(Array(tokens[..<promptTokens]), logits: .none)
            var skipper = FeedForwardSkipper(rule: .adaptive(policy), mask: mask, firstTokenIndex: 1)
            for index in promptTokens..<tokens.count {
                session.decode(tokens[index], skipper: &skipper)
            }
            total += skipper.count
        }
        return total.ratio
    }

    private func validate(sequences: [[Int]], settings: Settings) throws {
        guard settings.targetRatio > 0 && settings.targetRatio < 1 else {
            throw CalibrationError(
                "the target skip ratio is \(settings.targetRatio); it must lie strictly between 0 and 1")
        }
        guard !settings.skipCounts.isEmpty, settings.skipCounts.allSatisfy({ $0 >= 1 }) else {
            throw CalibrationError(
                "the skip counts \(settings.skipCounts) must be a non-empty list of values of 1 or more")
        }
        guard settings.warmupTokens >= 0, settings.promptTokens >= 1 else {
            throw CalibrationError("the warm-up must be 0 or more tokens and the prompt at least 1 token")
        }
        let needed = settings.promptTokens + max(settings.warmupTokens, 1) + 1
        guard !sequences.isEmpty, sequences.allSatisfy({ $0.count >= needed }) else {
            throw CalibrationError(
                "calibration needs sequences of at least \(needed) tokens (prompt + warm-up + 1); "
                    + "lengthen the sequences or shorten the prompt or warm-up")
        }
    }
}

/// Replays the adaptive skip rule on a dense cosine trace: the ratio and estimated damage a policy would
/// have if the cosines did not change when blocks are skipped.
struct FeedForwardSkipReplay {
    struct Result {
        var count: FeedForwardSkipCount
        /// Summed relative update of the skipped blocks, per decode step.
        var damage: Double
    }

    let trace: FeedForwardCosineTrace
    let mask: SubBlockMask

    /// Returns the replay of `policy` on every step of the trace.
    func run(_ policy: FeedForwardSkipPolicy) -> Result {
        let layers = trace.layerCount
        var skipper = FeedForwardSkipper(
            rule: .adaptive(policy), mask: mask, firstTokenIndex: max(policy.warmupTokens, 1))
        var damage = 0.0
        for step in 0..<trace.steps {
            skipper.beginToken()
            for layer in 0..<layers where mask.mlpKept[layer] {
                switch skipper.action(forLayer: layer) {
                case .run: break
                case .runAndMeasure: skipper.record(cosine: trace.cosines[step * layers + layer])
                case .skip: damage += Double(trace.updateRatios[step * layers + layer])
                }
            }
            _ = skipper.endToken()
        }
        return Result(count: skipper.count, damage: damage / Double(max(trace.steps, 1)))
    }

    /// Bisects τ in [-1, 1.0001] so the replayed ratio reaches `goal`, keeping the regions and k of
    /// `regions`. The ratio falls as τ rises (nearly always monotonically), so the bound whose ratio is
    /// closer to the goal is returned. When even τ = -1 stays below the goal, that τ is returned.
    func solveThreshold(
        regions: FeedForwardSkipPolicy, goal: Double
    ) -> (policy: FeedForwardSkipPolicy, result: Result) {
        var low = regions
        low.threshold = -1
        var high = regions
        high.threshold = 1.0001
        var lowResult = run(low)
        var highResult = run(high)
        guard lowResult.count.ratio >= goal else { return (low, lowResult) }
        for _ in 0..<30 {
            var middle = regions
            middle.threshold = (low.threshold + high.threshold) / 2
            if middle.threshold == low.threshold || middle.threshold == high.threshold { break }
            let result = run(middle)
            if result.count.ratio >= goal {
                low = middle
                lowResult = result
            } else {
                high = middle
                highResult = result
            }
        }
        let lowError = abs(lowResult.count.ratio - goal)
        let highError = abs(highResult.count.ratio - goal)
        return highError < lowError ? (high, highResult) : (low, lowResult)
    }
}
