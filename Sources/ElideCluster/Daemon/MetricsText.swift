/// Renders the coordinator's metrics in the Prometheus text exposition format (version 0.0.4).
public enum MetricsText {
    public static func render(
        status: ClusterStatus, metrics: CoordinatorMetrics, bytesSent: Int, bytesReceived: Int
    ) -> String {
        var lines: [String] = []

        func family(_ name: String, _ type: String, _ help: String) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
        }

        family("elide_workers", "gauge", "Workers by state; dead lists recently lost workers.")
        for state in ["alive", "suspect", "draining", "dead"] {
            let count = status.workers.filter { $0.state == state }.count
            lines.append("elide_workers{state=\"\(state)\"} \(count)")
        }

        family("elide_worker_slots", "gauge", "Task slots of connected workers, used and total.")
        let live = status.workers.filter { $0.state != "dead" }
        lines.append("elide_worker_slots{kind=\"used\"} \(live.reduce(0) { $0 + $1.slotsUsed })")
        lines.append("elide_worker_slots{kind=\"total\"} \(live.reduce(0) { $0 + $1.slotsTotal })")

        family("elide_tasks", "gauge", "Tasks waiting for a slot or running now.")
        lines.append("elide_tasks{state=\"queued\"} \(status.tasks.queued)")
        lines.append("elide_tasks{state=\"running\"} \(status.tasks.running)")

        family("elide_tasks_finished_total", "counter", "Task attempts that ended, by outcome.")
        lines.append("elide_tasks_finished_total{outcome=\"succeeded\"} \(status.tasks.succeeded)")
        lines.append("elide_tasks_finished_total{outcome=\"failed\"} \(status.tasks.failed)")

        family("elide_task_retries_total", "counter", "Tasks requeued after their worker was lost.")
        lines.append("elide_task_retries_total \(status.tasks.retried)")

        family("elide_results_dropped_total", "counter", "Late or duplicate task results that were dropped.")
        lines.append("elide_results_dropped_total \(status.tasks.duplicatesDropped)")

        family("elide_jobs", "gauge", "Jobs by state.")
        for state in JobState.allCases {
            lines.append("elide_jobs{state=\"\(state.rawValue)\"} \(status.jobs.filter { $0.state == state }.count)")
        }

        family("elide_workers_lost_total", "counter", "Workers lost without deregistering.")
        lines.append("elide_workers_lost_total \(metrics.workersLost)")

        family(
            "elide_bytes_total", "counter", "Bytes sent and received on cluster connections, frame headers included.")
        lines.append("elide_bytes_total{direction=\"sent\"} \(bytesSent)")
        lines.append("elide_bytes_total{direction=\"received\"} \(bytesReceived)")

        family("elide_task_latency_seconds", "histogram", "Time from assigning a task to accepting its result.")
        let histogram = metrics.taskLatency
        for (bound, count) in zip(histogram.bounds, histogram.counts) {
            lines.append("elide_task_latency_seconds_bucket{le=\"\(format(bound))\"} \(count)")
        }
        lines.append("elide_task_latency_seconds_bucket{le=\"+Inf\"} \(histogram.count)")
        lines.append("elide_task_latency_seconds_sum \(format(histogram.sum))")
        lines.append("elide_task_latency_seconds_count \(histogram.count)")

        return lines.joined(separator: "\n") + "\n"
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
