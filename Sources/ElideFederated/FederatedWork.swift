/// The training samples a FedD2S client uploads in one round: `count` of its training samples, chosen by
/// `seed` with `Partitioner.subsample`, so the client and a replay pick the same ones.
public struct UploadSample: Sendable, Equatable {
    public var seed: UInt64
    public var count: Int

    public init(seed: UInt64, count: Int) {
        self.seed = seed
        self.count = count
    }

    /// Indices into the client's training set, ascending.
    public func indices(trainCount: Int) -> [Int] {
        Partitioner.subsample(count: trainCount, take: min(count, trainCount), seed: seed)
    }
}

/// One update of a personalized client's model. A client's state is the result of its steps in order, so a
/// worker that lacks the state rebuilds it by applying the client's history again.
public enum ClientStep: Sendable, Equatable {
    /// Supervised training on the client's own training set.
    case train(round: Int, seed: UInt64)
    /// FedD2S: distils the server's logits for the uploaded samples back into the body up to `cut` and the
    /// client's head at `cut`, with cross-entropy plus KL.
    case distill(round: Int, cut: Int, seed: UInt64, upload: UploadSample, teacherLogits: [Float])

    public var round: Int {
        switch self {
        case .train(let round, _), .distill(let round, _, _, _, _): return round
        }
    }
}

/// The action of a client task after its step.
public enum ClientFollowUp: Sendable, Equatable {
    /// FedD2S: returns the cut-`cut` representations of the upload sample and the client head's logits on them.
    case upload(cut: Int, sample: UploadSample)
    /// Returns the personalized model's accuracy on the client's test set.
    case evaluate
}

/// A FedD2S client's upload for one round.
public struct ClientUpload: Sendable, Equatable {
    public var client: Int
    /// (count, width) row-major.
    public var representations: [Float]
    public var width: Int
    /// (count, classes) row-major: the client head's logits at the cut.
    public var logits: [Float]
    public var labels: [Int]

    public init(client: Int, representations: [Float], width: Int, logits: [Float], labels: [Int]) {
        self.client = client
        self.representations = representations
        self.width = width
        self.logits = logits
        self.labels = labels
    }

    /// Bytes on the wire: float32 representations and logits, and labels as 4-byte integers.
    public var byteCount: Int { 4 * (representations.count + logits.count + labels.count) }
}

/// A unit of work that the round logic hands out. The cluster runs each one as a task.
public enum FederatedWork: Sendable, Equatable {
    /// Brings the client's personal model to its state after `history` (on a worker that lacks it), applies
    /// `step` and then does `followUp`.
    case client(client: Int, history: [ClientStep], step: ClientStep, followUp: ClientFollowUp)
    /// FedD2S server: trains the global head of `cut` on all uploads (a new head from `headSeed` when `head`
    /// is nil) and returns it with its logits for every uploaded sample, in upload order.
    case server(round: Int, cut: Int, head: [UInt8]?, headSeed: UInt64, trainingSeed: UInt64, uploads: [ClientUpload])
    /// FedAvg or FedProx: trains a copy of the global parameters on the client's data.
    case trainGlobal(client: Int, round: Int, parameters: [Float], seed: UInt64)
    /// Evaluates the global parameters on each listed client's test set.
    case evaluateGlobal(parameters: [Float], clients: [Int])
}

/// The result of one `FederatedWork`, at the same position of its batch.
public enum FederatedResult: Sendable, Equatable {
    case upload(ClientUpload)
    case accuracy(client: Int, ClientAccuracy)
    /// The trained head and its logits, (total uploaded samples, classes) row-major.
    case server(head: [UInt8], logits: [Float])
    case trained(FedAvgAggregator.Update)
    case accuracies([(client: Int, accuracy: ClientAccuracy)])

    public static func == (lhs: FederatedResult, rhs: FederatedResult) -> Bool {
        switch (lhs, rhs) {
        case (.upload(let a), .upload(let b)): return a == b
        case (.accuracy(let a, let x), .accuracy(let b, let y)): return a == b && x == y
        case (.server(let a, let x), .server(let b, let y)): return a == b && x == y
        case (.trained(let a), .trained(let b)): return a == b
        case (.accuracies(let a), .accuracies(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.client == $1.client && $0.accuracy == $1.accuracy }
        default: return false
        }
    }
}
