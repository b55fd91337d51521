/// Stochastic gradient descent with momentum and L2 weight decay, in PyTorch's form (no dampening, no Nesterov):
/// `g ← ∇ + weightDecay · w`, `v ← momentum · v + g`, `w ← w − learningRate · v`.
public struct SGD: Sendable, Equatable, Codable {
    public var learningRate: Float
    public var momentum: Float
    public var weightDecay: Float

    public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    /// Updates `count` parameters and their momentum buffer `velocity` from `gradient`.
    public func step(
        parameters: UnsafeMutablePointer<Float>, velocity: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>,
        count: Int
    ) {
        let (rate, momentum, decay) = (learningRate, self.momentum, weightDecay)
        for index in 0..<count {
            let update = momentum * velocity[index] + (gradient[index] + decay * parameters[index])
            velocity[index] = update
            parameters[index] -= rate * update
        }
    }
}
