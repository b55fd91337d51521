import ElideModels

/// Optimizer and loss settings for every training step of a federated run: local training, FedD2S distillation
/// on the client, and the server's head training.
public struct TrainingSettings: Codable, Sendable, Equatable {
    /// SGD step size. Default 0.05.
    public var learningRate: Float
    /// SGD momentum. Default 0.5: with 0.9 and a step of 0.05, one epoch on 2,000 MNIST images diverged to
    /// chance accuracy. Each model keeps its momentum buffer between calls (see `ClientModel`).
    public var momentum: Float
    /// L2 weight decay added to every gradient, biases included. Default 5e-4.
    public var weightDecay: Float
    /// Samples per mini-batch; the last batch of an epoch may be smaller. Default 16: with the other defaults,
    /// one epoch on 2,000 MNIST images reached 0.906–0.915 test accuracy over three seeds.
    public var batchSize: Int
    /// Passes over the client's data in `ClientCompute.trainLocally`. Default 1.
    public var localEpochs: Int
    /// FedProx proximal weight μ: adds μ/2 · ‖w − anchor‖² over the shared parameters. Default 0 (off).
    public var proxMu: Float
    /// Distillation temperature T, on both sides of FedD2S. Default 2.
    public var temperature: Float
    /// λ in loss = CE + λ · T² · KL(teacher_T ‖ student_T), on both sides of FedD2S. Default 1.
    public var distillationWeight: Float
    /// Passes over the client's data in `ClientCompute.distill`. Default 1.
    public var distillationEpochs: Int
    /// Passes over all uploads in `ServerCompute.trainHead`. Default 1.
    public var serverEpochs: Int
    /// Whether `ClientCompute.trainLocally` also fits each auxiliary head, by cross-entropy on its cut
    /// representation with the gradient stopped at the cut, so the body's training is unchanged. Reconstructed
    /// choice: without it, a client's first FedD2S upload would carry the soft labels of an untrained head.
    /// Default true.
    public var trainsAuxiliaryHeads: Bool
    /// Threads for one training call. Default 1.
    /// TODO: only 1 is implemented; larger values currently run on one thread.
    public var threads: Int

    public init(
        learningRate: Float = 0.05, momentum: Float = 0.5, weightDecay: Float = 5e-4, batchSize: Int = 16,
        localEpochs: Int = 1, proxMu: Float = 0, temperature: Float = 2, distillationWeight: Float = 1,
        distillationEpochs: Int = 1, serverEpochs: Int = 1, trainsAuxiliaryHeads: Bool = true, threads: Int = 1
    ) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.batchSize = batchSize
        self.localEpochs = localEpochs
        self.proxMu = proxMu
        self.temperature = temperature
        self.distillationWeight = distillationWeight
        self.distillationEpochs = distillationEpochs
        self.serverEpochs = serverEpochs
        self.trainsAuxiliaryHeads = trainsAuxiliaryHeads
        self.threads = threads
    }

    var optimizer: SGD { SGD(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay) }
}
