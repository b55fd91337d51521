import ElideEngine
import ElideSupport
import Foundation

/// Job kind `evopress`: EvoPress's evolutionary depth search over a model's attention and MLP sub-blocks,
/// with every candidate evaluation farmed out to workers, compared with ShortGPT, the sliding-window baseline
/// and random best-of-N in the same job.
///
/// The job runs in four phases, all as tasks of the executor `evopress`:
/// 1. The dense model's held-out perplexity, which must be finite and at most 1,000 (`DenseModelCheck`).
/// 2. Baseline scores from the dense hidden states (one task), the EvoPress search, the random baseline and,
///    with `--brute-force`, every configuration of the space. Each batch of a search becomes one task per
///    candidate and calibration sequence, and the per-sequence KL sums are merged by `FitnessAggregate`.
/// 3. The held-out perplexity of each resulting plan, in tasks of a few windows each.
/// 4. The report: perplexities, the EvoPress plan, one record per generation, timings, a comparison table
///    and an SVG plot of the best fitness per generation.
///
/// The report depends only on the options and the seed, never on the number of workers, retries or the
/// order in which results arrive, except for its `timings` and the rates in the progress line.
public enum EvoPressJob {
    public static let executorKind = "evopress"

    /// The model and texts that `scripts/fetch-assets` installs under `$ELIDE_HOME`.
    static var defaultModelPath: String { CommandSupport.elideHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }
    static var textFolder: String { CommandSupport.elideHome + "/text/austen" }

    public static let options: [OptionSpec] = [
        OptionSpec(
            "model", value: "PATH", help: "GGUF model file; every worker reads this path.", default: defaultModelPath),
        OptionSpec(
            "drop", value: "FRACTION|COUNT",
            help: "Sub-blocks to drop: a fraction of all attention and MLP sub-blocks (0.25) or a count of units.",
            default: "0.25"),
        OptionSpec(
            "unit", value: "sub-block|block|pair",
            help: "Gene of the search: single sub-blocks, whole blocks, or pairs of consecutive blocks.",
            default: "sub-block"),
        OptionSpec(
            "schedule", value: "fast|paper|EXPLICIT",
            help: "Offspring and selection stages: fast (16 offspring, 1x512 then 1x8192 tokens), paper (32, 2x2048 "
                + "then 1x32768), or explicit, for example offspring=16,stage=2x2048,stage=1x32768,initial=64x2048.",
            default: "fast"),
        OptionSpec(
            "generations", value: "G|auto", help: "Generations after initialisation; auto is floor(k(n-k)/1.5).",
            default: "auto"),
        OptionSpec(
            "calibration", value: "FILES", help: "Comma-separated UTF-8 text files the search is scored on.",
            default: CalibrationSet.paths(CalibrationSet.defaultCalibrationFiles, in: textFolder).joined(separator: ",")
        ),
        OptionSpec(
            "eval", value: "FILES", help: "Comma-separated held-out text files for perplexity, read in order.",
            default: CalibrationSet.paths(CalibrationSet.defaultEvaluationFiles, in: textFolder).joined(separator: ",")),
        OptionSpec(
            "eval-tokens", value: "N", help: "Held-out tokens scored, from the start of the first --eval file.",
            default: String(HeldOutText.defaultTokenCount)),
        OptionSpec(
            "sequence-length", value: "N",
            help: "Tokens per calibration sequence and per held-out perplexity window.",
            default: String(CalibrationSet.defaultSequenceLength)),
        OptionSpec(
            "calibration-sequences", value: "N|auto",
            help: "Calibration sequences the minibatches are drawn from, spread evenly over the calibration files; "
                + "auto is twice the largest minibatch. Each worker caches the dense states of all of them.",
            default: "auto"),
        OptionSpec(
            "teacher", value: "exact|top-k:K",
            help: "Dense distributions kept for the KL fitness: exact (fp16, whole vocabulary) or the top K tokens.",
            default: "exact"),
        OptionSpec(
            "search-layers", value: "N|auto", help: "Search only layers 0..<N and keep the rest; auto is every layer.",
            default: "auto"),
        OptionSpec(
            "random-candidates", value: "N", help: "Random configurations of the random baseline.", default: "32"),
        OptionSpec(
            "random-tokens", value: "N|auto",
            help: "Calibration tokens that score each random configuration; auto is the first stage's tokens.",
            default: "auto"),
        OptionSpec(
            "init", value: "baselines|random",
            help: "Initial candidates: baselines adds the sliding-window and ShortGPT plans to the random ones, so "
                + "the search starts from the better baseline; random is EvoPress's own initialisation.",
            default: "baselines"),
        .flag("brute-force", help: "Also score every configuration of the space (up to 10,000) on one minibatch."),
        OptionSpec(
            "threads", value: "N",
            help: "Compute threads per task; keep it fixed, because results are bit-identical only at equal counts.",
            default: "1"),
        OptionSpec(
            "eval-windows-per-task", value: "N", help: "Held-out perplexity windows scored by one task.", default: "2"),
    ]

    public static let kind = JobKind(
        name: "evopress",
        summary: "Search which attention and MLP sub-blocks to drop (EvoPress) and compare it with baselines.",
        options: options, makeDriver: { try EvoPressDriver(spec: $0) }, executors: [EvoPressExecutor()])
}
