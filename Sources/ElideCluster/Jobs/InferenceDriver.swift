import ElideEngine
import ElideSupport
import Foundation

/// The coordinator side of `inference`: one task per group of `--prompts-per-task` prompts, results kept by
/// prompt index and reported in file order.
struct InferenceDriver: JobDriver {
    let prompts: [InferencePrompt]
    let template: InferenceTask
    let promptsPerTask: Int
    private var results: [InferenceResult?]
    private var outstanding: [UInt64: Range<Int>] = [:]
    private var completed = 0
    private var generatedTokens = 0
    private var firstStart: Double?
    private var lastFinish: Double?

    init(spec: JobSpec) throws {
        try self.init(settings: InferenceSettings(spec: spec))
    }

    init(settings: InferenceSettings) throws {
        guard settings.shard == .requests else {
            throw JobDriverError("InferenceDriver runs --shard requests; --shard layers uses InferencePipelineDriver")
        }
        prompts = settings.prompts
        template = settings.template
        promptsPerTask = settings.promptsPerTask
        results = Array(repeating: nil, count: prompts.count)
    }

    mutating func start() throws -> DriverStep {
        var tasks: [TaskRequest] = []
        var first = 0
        while first < prompts.count {
            let range = first..<min(first + promptsPerTask, prompts.count)
            var task = template
            task.prompts = Array(prompts[range])
            let index = UInt64(tasks.count)
            outstanding[index] = range
            tasks.append(TaskRequest(index: index, executor: InferenceJob.executorKind, payload: try task.encoded()))
            first = range.upperBound
        }
        return DriverStep(newTasks: tasks, progress: progress)
    }

    mutating func handle(taskIndex: UInt64, output: [UInt8]) throws -> DriverStep {
        guard let range = outstanding.removeValue(forKey: taskIndex) else {
            throw JobDriverError("inference job received an unexpected or repeated result for task \(taskIndex)")
        }
        let decoded = try InferenceTaskOutput.decode(output, task: taskIndex)
        guard decoded.results.map(\.index) == Array(range) else {
            throw JobDriverError(
                "inference task \(taskIndex) returned results for prompts \(decoded.results.map(\.index)), expected "
                    + "\(Array(range))")
        }
        for result in decoded.results {
            results[result.index] = result
            generatedTokens += result.tokens.count
        }
        completed += decoded.results.count
        firstStart = min(firstStart ?? decoded.startedAt, decoded.startedAt)
        lastFinish = max(lastFinish ?? decoded.finishedAt, decoded.finishedAt)
        guard completed == prompts.count else { return DriverStep(progress: progress) }
        return DriverStep(progress: progress, report: try report())
    }

    var progress: JobProgress {
        JobProgress(
            completed: completed, total: prompts.count, detail: "prompts, \(generatedTokens) tokens generated")
    }

    // MARK: - Report

    private func report() throws -> JobReport {
        let wall = max(0, (lastFinish ?? 0) - (firstStart ?? 0))
        return try InferenceReport.make(
            prompts: prompts, results: results.compactMap { $0 }, template: template, wall: wall,
            shard: "request sharding")
    }
}
