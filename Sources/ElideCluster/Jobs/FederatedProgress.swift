import ElideFederated
import Foundation

/// The progress of a `federated` job in rounds: "round r/R acc mean x std y" for the last finished round
/// (round 0 is the initial model), then an estimate of the time left.
enum FederatedProgress {
    static func progress(_ driver: FederatedDriver) -> JobProgress {
        let total = driver.settings.rounds.rounds
        guard let run = driver.run else {
            return JobProgress(completed: 0, total: total, detail: "partitioning the data over the clients")
        }
        // !-safe: a run always contains round 0's metrics.
        let last = run.metrics.last!
        var detail = String(
            format: "round %d/%d acc mean %.4f std %.4f", last.round, total, last.meanAccuracy,
            last.accuracyStandardDeviation)
        if !run.isFinished, let seconds = driver.clocks.roundSeconds.last {
            detail += " ETA " + EvoPressProgress.duration(Double(total - run.completedRounds) * seconds)
        }
        return JobProgress(completed: run.completedRounds, total: total, detail: detail)
    }
}
