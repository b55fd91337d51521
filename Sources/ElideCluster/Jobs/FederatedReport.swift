import ElideFederated
import ElideSupport
import Foundation

/// The report of a `federated` job: per-round metrics over all clients, final per-client accuracies,
/// bytes communicated, the options, wall-clock timings and an SVG plot of accuracy per round.
///
/// Everything except `timings` depends only on the options and the seed.
enum FederatedReport {
    static func make(_ driver: FederatedDriver) throws -> JobReport {
        guard let run = driver.run else { throw JobDriverError("the federated run never started") }
        let settings = driver.settings
        let algorithm = settings.environment.algorithm.rawValue
        let dataset = settings.dataset.rawValue
        // !-safe: a run always contains round 0's metrics.
        let final = run.metrics.last!
        let totalBytes = run.metrics.reduce(0) { $0 + $1.bytesCommunicated }

        var values: [String: JSONValue] = [
            "algorithm": .string(algorithm),
            "dataset": .string(dataset),
            "clients": .number(Double(settings.rounds.clients)),
            "rounds": .number(Double(settings.rounds.rounds)),
            "partition": .string(settings.data.scheme.description),
            "participation": .number(settings.rounds.participation),
            "final_mean_accuracy": .number(final.meanAccuracy),
            "final_accuracy_std": .number(final.accuracyStandardDeviation),
            "final_worst10_accuracy": .number(final.worstTenPercentAccuracy),
            "total_bytes": .number(Double(totalBytes)),
            "options": .object(FederatedJobSettings.describe(driver.spec)),
            "round_metrics": .array(run.metrics.map(roundValue)),
            "client_accuracies": .array(run.accuracies.map { .number($0.accuracy) }),
            "client_train_samples": .array(driver.sampleCounts.map { .number(Double($0.train)) }),
            "client_test_samples": .array(driver.sampleCounts.map { .number(Double($0.test)) }),
            "shared_parameters": .number(
                Double(settings.environment.initialModel().sharedParameterCount)),
            "accuracy_svg": .string(plot(run.metrics, title: "\(algorithm) on \(dataset)")),
        ]
        if settings.environment.algorithm == .fedd2s {
            values["reconstructed_protocol"] = .string(
                "FedD2S here follows a reconstruction from the paper's abstract; the dropping set, dropping rate, "
                    + "upload sample, temperature, lambda and epochs are named parameters, not the authors' values")
        }
        let rounds = driver.clocks.roundSeconds
        values["timings"] = .object([
            "partition_seconds": .number(driver.clocks.partitionSeconds),
            "round_seconds": .array(rounds.map { .number($0) }),
            "mean_round_seconds": .number(rounds.isEmpty ? 0 : rounds.reduce(0, +) / Double(rounds.count)),
            "round_task_seconds": .array(driver.clocks.roundTaskSeconds.map { .number($0) }),
            "replayed_client_steps": .number(Double(driver.clocks.replayedSteps)),
        ])

        let summary = String(
            format: "%@ on %@, %d clients, %d rounds: mean accuracy %.4f, std %.4f, worst-10%% %.4f, %@ communicated",
            algorithm, dataset, settings.rounds.clients, settings.rounds.rounds, final.meanAccuracy,
            final.accuracyStandardDeviation, final.worstTenPercentAccuracy, formatBytes(totalBytes))
        return JobReport(summary: summary, values: values)
    }

    static func roundValue(_ metrics: RoundMetrics) -> JSONValue {
        var fields: [String: JSONValue] = [
            "round": .number(Double(metrics.round)),
            "mean_accuracy": .number(metrics.meanAccuracy),
            "accuracy_std": .number(metrics.accuracyStandardDeviation),
            "worst10_accuracy": .number(metrics.worstTenPercentAccuracy),
            "bytes_uploaded": .number(Double(metrics.bytesUploaded)),
            "bytes_downloaded": .number(Double(metrics.bytesDownloaded)),
            "participants": .array(metrics.participants.map { .number(Double($0)) }),
        ]
        if let cut = metrics.cut { fields["cut"] = .number(Double(cut)) }
        return .object(fields)
    }

    /// Mean and worst-10% accuracy per round, round 0 being the initial model.
    static func plot(_ metrics: [RoundMetrics], title: String) -> String {
        var plot = SVGLinePlot(title: title, xLabel: "round", yLabel: "client test accuracy")
        plot.addSeries("mean", points: metrics.map { (Double($0.round), $0.meanAccuracy) })
        plot.addSeries("worst 10%", points: metrics.map { (Double($0.round), $0.worstTenPercentAccuracy) })
        return plot.render()
    }

    /// Bytes as `812 B`, `3.4 KB`, `12.5 MB` or `1.20 GB` (powers of 1000).
    static func formatBytes(_ bytes: Int) -> String {
        let value = Double(bytes)
        if value < 1e3 { return "\(bytes) B" }
        if value < 1e6 { return String(format: "%.1f KB", value / 1e3) }
        if value < 1e9 { return String(format: "%.1f MB", value / 1e6) }
        return String(format: "%.2f GB", value / 1e9)
    }
}
