import ElideFederated
import ElideFormats
import ElideSupport
import ElideWire
import Testing

@testable import ElideCluster

/// The `federated` driver with made-up task outputs: no data set, no training.
struct FederatedDriverTests {
    static let spec = JobSpec(
        kind: "federated", seed: 4,
        options: [
            "clients": "4", "rounds": "3", "samples-per-client": "20", "upload-samples": "5", "conv1": "2",
            "conv2": "4", "hidden": "8", "dropping-rate": "0.4",
        ])

    /// Random 28x28 images with labels 0...9.
    static func images(count: Int, seed: UInt64) throws -> LabeledImageSet {
        var generator = SeededGenerator(seed: seed)
        let pixels = (0..<count * 784).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let labels = (0..<count).map { _ in Int(generator.next() % 10) }
        return try LabeledImageSet(channels: 1, height: 28, width: 28, classCount: 10, pixels: pixels, labels: labels)
    }

    static func partitionOutput(clients: Int) throws -> [UInt8] {
        let data = try (0..<clients).map { client in
            FederatedTaskOutput.ClientData(
                train: try images(count: 12 + client, seed: UInt64(client)).serialized(),
                test: try images(count: 4, seed: UInt64(100 + client)).serialized(),
                initialAccuracy: ClientAccuracy(correct: client, count: 4))
        }
        return FederatedTaskOutput(startedAt: 0, finishedAt: 1, body: .partition(data)).encoded()
    }

    /// Makes up a result for `work` whose numbers depend only on the work.
    static func fakeResult(_ work: FederatedWork) -> FederatedResult {
        switch work {
        case .client(let client, let history, _, .upload(let cut, let sample)):
            let width = [2 * 12 * 12, 4 * 4 * 4, 8][cut]
            return .upload(
                ClientUpload(
                    client: client, representations: [Float](repeating: Float(client), count: sample.count * width),
                    width: width, logits: [Float](repeating: Float(history.count), count: sample.count * 10),
                    labels: [Int](repeating: client % 10, count: sample.count)))
        case .client(let client, let history, _, .evaluate):
            return .accuracy(client: client, ClientAccuracy(correct: (client + history.count) % 5, count: 4))
        case .server(let round, _, _, _, _, let uploads):
            let samples = uploads.reduce(0) { $0 + $1.labels.count }
            return .server(head: [UInt8(round)], logits: (0..<samples * 10).map { Float($0 % 7) })
        case .trainGlobal(let client, _, let parameters, _):
            return .trained(.init(client: client, parameters: parameters.map { $0 + Float(client) }, sampleCount: 3))
        case .evaluateGlobal(_, let clients):
            return .accuracies(clients.map { ($0, ClientAccuracy(correct: $0 % 4, count: 4)) })
        }
    }

    /// Runs the driver to its report, feeding each batch's results in task order or, with `reversed`, backwards.
    static func runWithFakes(_ spec: JobSpec, reversed: Bool) throws -> JobReport {
        var driver = try FederatedDriver(spec: spec)
        var pending = try driver.start().newTasks
        var step = try driver.handle(taskIndex: pending[0].index, output: try partitionOutput(clients: 4))
        pending = step.newTasks
        while step.report == nil {
            let batch = reversed ? Array(pending.reversed()) : pending
            pending = []
            for request in batch {
                guard case .work(let work) = try FederatedTask.decode(request.payload).body else {
                    throw TestFailure("task \(request.index) is not a work")
                }
                let output = FederatedTaskOutput(startedAt: 0, finishedAt: 0, body: .result(fakeResult(work)))
                step = try driver.handle(taskIndex: request.index, output: output.encoded())
                pending += step.newTasks
            }
        }
        return try #require(step.report)
    }

    static func deterministicPart(_ report: JobReport) -> JobReport {
        var values = report.values
        values["timings"] = nil
        return JobReport(summary: report.summary, values: values)
    }

    @Test func partitionResultBecomesArtifacts() throws {
        var driver = try FederatedDriver(spec: Self.spec)
        let first = try driver.start()
        #expect(first.newTasks.map(\.index) == [FederatedDriver.partitionTask])
        guard case .partition(.mnist, let plan) = try FederatedTask.decode(first.newTasks[0].payload).body else {
            Issue.record("the first task does not partition MNIST")
            return
        }
        #expect(plan.clients == 4)
        #expect(plan.samplesPerClient == 20)

        let step = try driver.handle(taskIndex: 0, output: try Self.partitionOutput(clients: 4))
        #expect(step.artifacts.count == 8)
        let stored = Set(step.artifacts.map { ArtifactDigest(hex: SHA256Digest.hex(of: $0))! })
        #expect(!step.newTasks.isEmpty)
        for request in step.newTasks {
            let task = try FederatedTask.decode(request.payload)
            guard case .work(.client(let client, _, _, _)) = task.body else {
                Issue.record("FedD2S's first batch holds \(task.body)")
                continue
            }
            #expect(request.affinity == "client-\(client)")
            #expect(Set(request.artifacts).isSubset(of: stored))
            #expect(task.data.map(\.client) == [client])
            #expect(request.artifacts == [task.data[0].train, task.data[0].test])
        }
    }

    @Test func reportIgnoresResultOrder() throws {
        for algorithm in ["fedd2s", "fedavg", "local"] {
            var spec = Self.spec
            spec.options["algorithm"] = algorithm
            let forward = try Self.runWithFakes(spec, reversed: false)
            let backward = try Self.runWithFakes(spec, reversed: true)
            #expect(Self.deterministicPart(forward) == Self.deterministicPart(backward), "\(algorithm)")
            guard case .array(let rounds)? = forward.values["round_metrics"] else {
                Issue.record("\(algorithm): the report has no round metrics")
                continue
            }
            #expect(rounds.count == 4, "\(algorithm): rounds 0...3")
            #expect(forward.values["accuracy_svg"].map { "\($0)".hasPrefix("<svg") } == true)
        }
    }

    @Test func fedD2SCutMovesWithDroppingRate() throws {
        let report = try Self.runWithFakes(Self.spec, reversed: false)
        guard case .array(let rounds)? = report.values["round_metrics"] else {
            Issue.record("the report has no round metrics")
            return
        }
        let cuts = rounds.dropFirst().map { round -> JSONValue? in
            if case .object(let fields) = round { return fields["cut"] }
            return nil
        }
        // Rate 0.4 over rounds 0, 1, 2: floor(0, 0.4, 0.8) = 0, so cut 2 throughout; round 3 would move to 1.
        #expect(cuts == [.number(2), .number(2), .number(2)])
    }

    @Test func invalidOptionsAreRejected() {
        for (name, value) in [
            ("algorithm", "fedsgd"), ("dataset", "cifar"), ("partition", "iid"), ("dropping-set", "1,2"),
            ("dropping-set", "2,x"), ("participation", "0"), ("clients", "0"), ("alpha", "-1"),
            // 2 clients x 100,000 samples x (64 + 10 + 1) values x 4 bytes: 57 MiB, over the 48 MiB limit.
            ("upload-samples", "100000"),
        ] {
            var spec = Self.spec
            spec.options[name] = value
            #expect(throws: JobDriverError.self, "--\(name) \(value)") { try FederatedDriver(spec: spec) }
        }
    }

    @Test func coordinatorStoresArtifactsBeforeAssigningAndOnReplay() throws {
        let journal = MemoryJournal()
        var core = CoordinatorCore(registry: .builtin, journal: journal, logger: LogCapture().logger())
        let (job, _) = try core.submit(Self.spec, wallTime: 0)
        let worker = WorkerRegistration(name: "w", address: "127.0.0.1:1", processID: 1, slots: 1)
        let (workerID, directives) = core.registerWorker(worker, now: FakeClock().now)
        let partition = try #require(directives.assignments.first?.0)
        let after = try core.taskSucceeded(
            partition.attempt, worker: workerID, output: try Self.partitionOutput(clients: 4), now: FakeClock().now,
            wallTime: 1)
        let storeIndex = try #require(after.firstIndex { if case .storeArtifacts = $0 { true } else { false } })
        let assignIndex = try #require(after.firstIndex { if case .assign = $0 { true } else { false } })
        #expect(storeIndex < assignIndex)
        guard case .storeArtifacts(let contents) = after[storeIndex] else { return }
        #expect(contents.count == 8)
        #expect(core.jobs[job]?.state == .running)

        var restarted = CoordinatorCore(registry: .builtin, journal: MemoryJournal(), logger: LogCapture().logger())
        let replayed = try restarted.replay(journal.records)
        #expect(replayed == [.storeArtifacts(contents)])
    }
}
