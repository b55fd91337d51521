import ElideFormats

/// Applies the works of a federated run with the training engine: client steps, FedD2S uploads and server
/// training, FedAvg training and evaluation. No I/O: callers pass the data sets in.
public enum ClientStepRunner {
    /// Applies one step of a personalized client to `model`.
    public static func apply(
        _ step: ClientStep, to model: inout ClientModel, train: LabeledImageSet, environment: FederatedEnvironment
    ) throws {
        switch step {
        case .train(_, let seed):
            ClientCompute.trainLocally(
                &model, data: train, settings: environment.training, proxAnchor: nil, seed: seed)
        case .distill(let round, let cut, let seed, let upload, let teacherLogits):
            let subset = train.subset(upload.indices(trainCount: train.count))
            guard teacherLogits.count == subset.count * environment.architecture.classes else {
                throw FederatedError.unexpectedResult(
                    "round \(round + 1) distillation carries \(teacherLogits.count) teacher logits for "
                        + "\(subset.count) samples of \(environment.architecture.classes) classes")
            }
            try checkCut(cut, environment)
            ClientCompute.distill(
                &model, data: subset, teacherLogits: teacherLogits, cut: cut, settings: environment.training,
                seed: seed)
        }
    }

    /// Rebuilds a client's model from the initial model by applying `history` in order.
    public static func replay(
        _ history: [ClientStep], train: LabeledImageSet, environment: FederatedEnvironment
    ) throws -> ClientModel {
        var model = environment.initialModel()
        for step in history { try apply(step, to: &model, train: train, environment: environment) }
        return model
    }

    /// Computes the upload of `client` for the given sample: cut representations, head logits and labels.
    public static func upload(
        _ model: ClientModel, client: Int, train: LabeledImageSet, cut: Int, sample: UploadSample,
        environment: FederatedEnvironment
    ) throws -> ClientUpload {
        try checkCut(cut, environment)
        let subset = train.subset(sample.indices(trainCount: train.count))
        let result = ClientCompute.upload(model, data: subset, cut: cut)
        return ClientUpload(
            client: client, representations: result.representations, width: result.width, logits: result.logits,
            labels: subset.labels)
    }

    /// Returns the model's accuracy on `test`.
    public static func evaluate(_ model: ClientModel, test: LabeledImageSet) -> ClientAccuracy {
        let result = ClientCompute.evaluate(model, data: test)
        return ClientAccuracy(correct: result.correct, count: result.count)
    }

    /// FedAvg or FedProx: trains a copy of the global parameters on `train`; FedProx anchors the proximal
    /// term at the global parameters.
    public static func trainGlobal(
        client: Int, parameters: [Float], train: LabeledImageSet, seed: UInt64, environment: FederatedEnvironment
    ) throws -> FedAvgAggregator.Update {
        var model = try globalModel(parameters, environment)
        let anchor = environment.algorithm == .fedprox ? parameters : nil
        ClientCompute.trainLocally(&model, data: train, settings: environment.training, proxAnchor: anchor, seed: seed)
        return FedAvgAggregator.Update(client: client, parameters: model.sharedParameters, sampleCount: train.count)
    }

    /// Returns the initial model with `parameters` as its shared parameters.
    public static func globalModel(_ parameters: [Float], _ environment: FederatedEnvironment) throws -> ClientModel {
        var model = environment.initialModel()
        try model.setSharedParameters(parameters)
        return model
    }

    /// FedD2S server: trains the global head of `cut` on the uploads (a new head from `headSeed` when `head`
    /// is nil) and returns it with its logits for every uploaded sample, in upload order.
    public static func trainServer(
        cut: Int, head: [UInt8]?, headSeed: UInt64, trainingSeed: UInt64, uploads: [ClientUpload],
        environment: FederatedEnvironment
    ) throws -> (head: [UInt8], logits: [Float]) {
        try checkCut(cut, environment)
        let width = environment.architecture.representationWidth(cut: cut)
        var model =
            try head.map(GlobalHead.init(serialized:))
            ?? GlobalHead(architecture: environment.architecture, cut: cut, seed: headSeed)
        guard model.cut == cut, model.architecture == environment.architecture else {
            throw FederatedError.unexpectedResult(
                "the stored global head belongs to cut \(model.cut), expected cut \(cut) of this run's network")
        }
        var representations: [Float] = []
        var logits: [Float] = []
        var labels: [Int] = []
        for upload in uploads {
            guard upload.width == width else {
                throw FederatedError.unexpectedResult(
                    "client \(upload.client) uploaded representations \(upload.width) wide, cut \(cut) has \(width)")
            }
            representations += upload.representations
            logits += upload.logits
            labels += upload.labels
        }
        ServerCompute.trainHead(
            &model, representations: representations, width: width, labels: labels, clientLogits: logits,
            settings: environment.training, seed: trainingSeed)
        return (model.serialized(), ServerCompute.logits(model, representations: representations, width: width))
    }

    private static func checkCut(_ cut: Int, _ environment: FederatedEnvironment) throws {
        guard (0..<environment.architecture.cutCount).contains(cut) else {
            throw FederatedError.invalidSetting(
                name: "cut", value: "\(cut)", expected: "0..<\(environment.architecture.cutCount)")
        }
    }
}
