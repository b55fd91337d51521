/// Text tables for `elide status` and `elide jobs`.
enum StatusFormatter {
    static func text(_ status: ClusterStatus) -> String {
        let coordinator = status.coordinator
        var lines = [
            "coordinator \(coordinator.address)  pid \(coordinator.processID)  up "
                + ClusterCommandLine.format(seconds: coordinator.uptimeSeconds),
            "",
            "WORKERS",
        ]
        if status.workers.isEmpty {
            lines.append("  (none connected)")
        } else {
            let rows = status.workers.map { worker in
                [
                    worker.id, worker.name, worker.address, String(worker.processID), worker.state,
                    "\(worker.slotsUsed)/\(worker.slotsTotal)", String(worker.tasksDone),
                    ClusterCommandLine.format(seconds: worker.lastHeartbeatAgeSeconds),
                ]
            }
            lines += table(header: ["ID", "NAME", "ADDRESS", "PID", "STATE", "SLOTS", "DONE", "HEARTBEAT"], rows: rows)
        }
        lines += ["", "JOBS", jobsTable(status.jobs)]
        return lines.joined(separator: "\n")
    }

    static func jobsTable(_ jobs: [JobStatus]) -> String {
        guard !jobs.isEmpty else { return "  (no jobs)" }
        let rows = jobs.map { job in
            [
                job.id, job.kind, job.state.rawValue, job.progressText, String(job.retries),
                ClusterCommandLine.format(seconds: job.elapsedSeconds),
            ]
        }
        return table(header: ["ID", "KIND", "STATE", "PROGRESS", "RETRIES", "ELAPSED"], rows: rows).joined(
            separator: "\n")
    }

    /// Left-aligned columns separated by two spaces.
    static func table(header: [String], rows: [[String]]) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }
}
