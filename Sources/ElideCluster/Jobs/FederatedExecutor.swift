import ElideFederated
import ElideFormats
import Foundation

/// The worker side of `federated`: partitions the data, runs client steps with their stored or rebuilt
/// models, trains the FedD2S server head and trains and evaluates FedAvg models.
struct FederatedExecutor: TaskExecutor {
    var kind: String { FederatedJob.executorKind }

    var store: FederatedClientStore = .shared

    func execute(payload: [UInt8], seed: UInt64, context: TaskContext) throws -> [UInt8] {
        let startedAt = wallClockSeconds()
        let task = try FederatedTask.decode(payload)
        try context.checkCancellation()
        let body: FederatedTaskOutput.Body
        var replayedSteps = 0
        switch task.body {
        case .partition(let dataset, let plan):
            body = .partition(try partition(dataset: dataset, plan: plan, environment: task.environment))
        case .work(let work):
            body = .result(try run(work, task: task, context: context, replayedSteps: &replayedSteps))
        }
        return FederatedTaskOutput(
            startedAt: startedAt, finishedAt: wallClockSeconds(), replayedSteps: replayedSteps, body: body
        ).encoded()
    }

    /// Loads the training split from this worker's `$ELIDE_HOME`, splits it and evaluates the initial model on
    /// every client's test set.
    private func partition(
        dataset: StandardImageDataset, plan: ClientDataPlan, environment: FederatedEnvironment
    ) throws -> [FederatedTaskOutput.ClientData] {
        let data = try dataset.load(split: .train, elideHome: CommandSupport.elideHome)
        try environment.checkShape(of: data, name: "--dataset \(dataset.rawValue)")
        let initial = environment.initialModel()
        return try plan.split(data).map { train, test in
            FederatedTaskOutput.ClientData(
                train: train.serialized(), test: test.serialized(),
                initialAccuracy: ClientStepRunner.evaluate(initial, test: test))
        }
    }

    private func run(
        _ work: FederatedWork, task: FederatedTask, context: TaskContext, replayedSteps: inout Int
    ) throws -> FederatedResult {
        let environment = task.environment
        switch work {
        case .client(let client, let history, let step, let followUp):
            let data = try digests(of: client, in: task)
            let train = try dataSet(data.train, context: context, environment: environment)
            let key = FederatedClientStore.Key(job: context.task.task.job, runKey: task.runKey, client: client)
            var model: ClientModel
            if let stored = store.model(key, steps: history.count) {
                model = stored
            } else {
                model = try ClientStepRunner.replay(history, train: train, environment: environment)
                replayedSteps = history.count
            }
            try context.checkCancellation()
            try ClientStepRunner.apply(step, to: &model, train: train, environment: environment)
            store.store(model, steps: history.count + 1, for: key)
            switch followUp {
            case .upload(let cut, let sample):
                return .upload(
                    try ClientStepRunner.upload(
                        model, client: client, train: train, cut: cut, sample: sample, environment: environment))
            case .evaluate:
                let test = try dataSet(data.test, context: context, environment: environment)
                return .accuracy(client: client, ClientStepRunner.evaluate(model, test: test))
            }
        case .server(_, let cut, let head, let headSeed, let trainingSeed, let uploads):
            let trained = try ClientStepRunner.trainServer(
                cut: cut, head: head, headSeed: headSeed, trainingSeed: trainingSeed, uploads: uploads,
                environment: environment)
            return .server(head: trained.head, logits: trained.logits)
        case .trainGlobal(let client, _, let parameters, let seed):
            let train = try dataSet(try digests(of: client, in: task).train, context: context, environment: environment)
            return .trained(
                try ClientStepRunner.trainGlobal(
                    client: client, parameters: parameters, train: train, seed: seed, environment: environment))
        case .evaluateGlobal(let parameters, let clients):
            let model = try ClientStepRunner.globalModel(parameters, environment)
            var values: [(client: Int, accuracy: ClientAccuracy)] = []
            for client in clients {
                try context.checkCancellation()
                let test = try dataSet(
                    try digests(of: client, in: task).test, context: context, environment: environment)
                values.append((client, ClientStepRunner.evaluate(model, test: test)))
            }
            return .accuracies(values)
        }
    }

    private func digests(of client: Int, in task: FederatedTask) throws -> ClientDataDigests {
        guard let entry = task.data.first(where: { $0.client == client }) else {
            throw JobDriverError("the task names no data artifacts for client \(client)")
        }
        return entry
    }

    private func dataSet(
        _ digest: ArtifactDigest, context: TaskContext, environment: FederatedEnvironment
    ) throws -> LabeledImageSet {
        let set = try store.dataSet(digest) {
            let path = try context.artifactPath(digest)
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw JobDriverError("cannot read artifact \(digest) at \(path)")
            }
            return [UInt8](contents)
        }
        try environment.checkShape(of: set, name: "artifact \(digest)")
        return set
    }
}
