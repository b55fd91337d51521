import ElideModels

/// The shape of the small CNN every client trains: conv → ReLU → 2×2 max-pool, twice, then a hidden dense layer
/// with ReLU and a dense classifier. With the defaults on 1×28×28 input that is conv 5×5×32 → pool → conv 5×5×64
/// → pool → fc 512 → fc classes, the CNN of McMahan et al. (2017) except for the padding (see `padding`).
///
/// The network is split at three cut points, shallow to deep, where FedD2S takes partial representations:
/// 0 after the first conv + pool, 1 after the second conv + pool, 2 after the hidden layer's ReLU.
public struct ConvNetArchitecture: Codable, Sendable, Equatable {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var classes: Int
    /// Output channels of the first and the second convolution.
    public var conv1: Int
    public var conv2: Int
    /// Side of the square convolution kernels.
    public var kernel: Int
    /// Zero padding of both convolutions. The default 0 ("valid") gives 24→12→8→4 on 28×28 input and costs
    /// about a third of the arithmetic of "same" padding (`kernel / 2`, 28→14→14→7), which matters when 20
    /// clients train on 2 cores.
    public var padding: Int
    /// Units of the hidden dense layer.
    public var hidden: Int

    public init(
        channels: Int, height: Int, width: Int, classes: Int, conv1: Int = 32, conv2: Int = 64, kernel: Int = 5,
        padding: Int = 0, hidden: Int = 512
    ) {
        self.channels = channels
        self.height = height
        self.width = width
        self.classes = classes
        self.conv1 = conv1
        self.conv2 = conv2
        self.kernel = kernel
        self.padding = padding
        self.hidden = hidden
    }

    /// Returns the default network for 1×28×28 grey images (MNIST, Fashion-MNIST, FEMNIST).
    public static func mnist(classes: Int = 10) -> ConvNetArchitecture {
        ConvNetArchitecture(channels: 1, height: 28, width: 28, classes: classes)
    }

    /// Cut points, shallow to deep: 0 = after conv1 + pool, 1 = after conv2 + pool, 2 = after fc1 (hidden).
    public var cutCount: Int { 3 }

    public var inputShape: FeatureShape { FeatureShape(channels: channels, height: height, width: width) }

    /// Returns the shape of the representation at `cut`.
    public func representationShape(cut: Int) -> FeatureShape {
        precondition((0..<cutCount).contains(cut), "cut \(cut) is outside 0..<\(cutCount)")
        return segmentLayers(cut).last!.outputShape  // !-safe: every segment has layers
    }

    /// Values per sample in the representation at `cut`.
    public func representationWidth(cut: Int) -> Int { representationShape(cut: cut).count }

    /// Checks that the shapes fit together; the error names the field to change.
    public func validate() throws {
        let fields = [
            ("channels", channels), ("height", height), ("width", width), ("classes", classes), ("conv1", conv1),
            ("conv2", conv2), ("kernel", kernel), ("hidden", hidden),
        ]
        for (name, value) in fields where value <= 0 {
            throw ComputeError.invalidArchitecture("\(name) is \(value), expected a positive value")
        }
        guard padding >= 0, padding < kernel else {
            throw ComputeError.invalidArchitecture("padding is \(padding), expected 0..<kernel (\(kernel))")
        }
        var side = min(height, width)
        for stage in 1...2 {
            side = side + 2 * padding - kernel + 1
            guard side >= 2 else {
                throw ComputeError.invalidArchitecture(
                    "input \(height)x\(width) is too small for kernel \(kernel) with padding \(padding): "
                        + "convolution \(stage) leaves \(side) pixels before its 2x2 pooling")
            }
            side /= 2
        }
    }

    // MARK: - Layers

    /// Returns the layers of body segment `index` (0, 1, 2: the part that ends at cut `index`) or, for index 3, the
    /// classifier.
    func segmentLayers(_ index: Int) -> [any TrainableLayer] {
        switch index {
        case 0:
            return convolutionBlock(input: inputShape, outputChannels: conv1)
        case 1:
            // !-safe: a convolution block is never empty.
            return convolutionBlock(input: segmentLayers(0).last!.outputShape, outputChannels: conv2)
        case 2:
            let input = segmentLayers(1).last!.outputShape  // !-safe: non-empty
            return [Flatten(shape: input), Dense(inputs: input.count, outputs: hidden), ReLU(shape: .flat(hidden))]
        case 3:
            return [Dense(inputs: hidden, outputs: classes, weightBound: Dense.logitBound(inputs: hidden))]
        default:
            preconditionFailure("segment \(index) is outside 0...3")
        }
    }

    private func convolutionBlock(input: FeatureShape, outputChannels: Int) -> [any TrainableLayer] {
        let convolution = Conv2D(input: input, outputChannels: outputChannels, kernel: kernel, padding: padding)
        return [
            convolution, ReLU(shape: convolution.outputShape), MaxPool2D(input: convolution.outputShape),
        ]
    }

    /// Body and classifier: the shared model of FedAvg and FedProx.
    var fullNetwork: LayerStack { LayerStack((0...3).flatMap(segmentLayers)) }

    /// Returns the body up to and including `cut`.
    func body(upTo cut: Int) -> LayerStack { LayerStack((0...cut).flatMap(segmentLayers)) }

    /// Index in `fullNetwork.layers` of the layer whose output is the representation at `cut`.
    func layerIndex(ofCut cut: Int) -> Int { (0...cut).map { segmentLayers($0).count }.reduce(0, +) - 1 }

    /// Returns the client's auxiliary head at `cut`: flatten, then one dense layer from the representation to class logits.
    func auxiliaryHead(cut: Int) -> LayerStack {
        let shape = representationShape(cut: cut)
        let dense = Dense(inputs: shape.count, outputs: classes, weightBound: Dense.logitBound(inputs: shape.count))
        return LayerStack([Flatten(shape: shape), dense])
    }

    /// Returns the server's global head at `cut`: every layer of the network above `cut`, classifier included.
    func globalHead(cut: Int) -> LayerStack { LayerStack(((cut + 1)...3).flatMap(segmentLayers)) }
}
