import ElideCluster
import ElideSupport

/// Tasks per second through a real coordinator and 1, 2, 4 … real worker processes: `sleep` jobs of 0-second
/// tasks, timed from the submission until the client's wait returns the finished job. Each worker count gets
/// a fresh cluster (and journal) and one untimed warm-up job. Besides the wall time, each record has the CPU
/// time that the coordinator and the workers used during the job, which other processes barely affect.
struct ThroughputBench {
    let options: BenchOptions

    func run() throws {
        for workerCount in options.workerCounts {
            let cluster = try BenchCluster(binaryFolder: options.binaryFolder)
            defer { cluster.stop() }
            try cluster.startCoordinator()
            for index in 0..<workerCount {
                try cluster.startWorker(index, slots: options.slots)
            }
            try cluster.waitForWorkers(workerCount)
            BenchLog.info("throughput: \(workerCount) worker(s) registered; state in \(cluster.stateDirectory)")

            _ = try runJob(on: cluster, tasks: min(200, options.tasks), seed: 1)
            for repetition in 1...options.repetitions {
                let cpuBefore = cluster.daemonCPUSeconds()
                let (seconds, status) = try runJob(on: cluster, tasks: options.tasks, seed: UInt64(repetition) + 1)
                let cpuSeconds = cluster.daemonCPUSeconds() - cpuBefore
                var record = BenchRecord(test: "throughput")
                record["workers"] = .integer(workerCount)
                record["slots"] = .integer(options.slots)
                record["tasks"] = .integer(options.tasks)
                record["repetition"] = .integer(repetition)
                record["seconds"] = .number(seconds)
                record["tasks_per_second"] = .number(Double(options.tasks) / seconds)
                record["coordinator_seconds"] = .number(status.elapsedSeconds)
                record["retries"] = .integer(status.retries)
                record["daemon_cpu_seconds"] = .number(cpuSeconds)
                record["cpu_us_per_task"] = .number(cpuSeconds / Double(options.tasks) * 1e6)
                record.print()
            }
        }
    }

    /// Submits a `sleep` job of `tasks` 0-second tasks and waits for it; returns the wall time and its status.
    private func runJob(on cluster: BenchCluster, tasks: Int, seed: UInt64) throws -> (Double, JobStatus) {
        let client = try cluster.client()
        let spec = JobSpec(kind: "sleep", seed: seed, options: ["tasks": String(tasks), "task-seconds": "0"])
        let start = MonotonicClock.now()
        let job = try client.submit(spec)
        var status = try client.wait(job, timeout: .seconds(120))
        while !status.state.isFinished {
            guard MonotonicClock.seconds(since: start) < 600 else {
                throw BenchFailure("job \(job) of \(tasks) tasks did not finish in 600 s")
            }
            status = try client.wait(job, timeout: .seconds(120))
        }
        let seconds = MonotonicClock.seconds(since: start)
        guard status.state == .succeeded, status.tasksDone == tasks else {
            throw BenchFailure(
                "job \(job) ended \(status.state.rawValue) with \(status.tasksDone) of \(tasks) tasks done: "
                    + (status.failure ?? "no failure message") + "; coordinator log:\n"
                    + cluster.log("coordinator").suffix(4_000))
        }
        return (seconds, status)
    }
}
