import Foundation

@testable import ElideFederated

/// A straightforward Double-precision reimplementation of `ConvNetArchitecture`'s network with plain loops, as an
/// independent reference for the engine. It reads parameters in the documented flat layout: layer by layer,
/// convolution weights as [out][in][ky][kx] then biases, dense weights as [out][in] then biases.
struct NaiveConvNet {
    let architecture: ConvNetArchitecture

    /// Per-sample values at the three cuts and the classifier's logits.
    struct Activations {
        var cuts: [[Double]]
        var logits: [Double]
    }

    var sharedCount: Int { architecture.fullNetwork.parameterCount }

    /// Pixels encoded as the engine does: x / 255.
    static func encode(_ pixels: ArraySlice<UInt8>) -> [Double] {
        pixels.map { Double($0) / 255 }
    }

    func forward(_ input: [Double], parameters: [Double]) -> Activations {
        var offset = 0
        var shape = (channels: architecture.channels, height: architecture.height, width: architecture.width)
        var values = input
        var cuts: [[Double]] = []
        for outputChannels in [architecture.conv1, architecture.conv2] {
            let convolved = convolve(
                values, shape: shape, outputChannels: outputChannels, parameters: parameters, offset: &offset)
            shape = (outputChannels, convolved.height, convolved.width)
            values = pool(convolved.values.map { max(0, $0) }, shape: shape)
            shape = (shape.channels, shape.height / 2, shape.width / 2)
            cuts.append(values)
        }
        values = dense(values, outputs: architecture.hidden, parameters: parameters, offset: &offset).map { max(0, $0) }
        cuts.append(values)
        let logits = dense(values, outputs: architecture.classes, parameters: parameters, offset: &offset)
        return Activations(cuts: cuts, logits: logits)
    }

    /// The head over the layers above `cut`, classifier included, as `GlobalHead` defines it.
    func globalHead(_ representation: [Double], cut: Int, parameters: [Double]) -> [Double] {
        var offset = 0
        var values = representation
        if cut == 0 {
            let side = architecture.representationShape(cut: 0)
            let shape = (side.channels, side.height, side.width)
            let convolved = convolve(
                values, shape: shape, outputChannels: architecture.conv2, parameters: parameters, offset: &offset)
            values = pool(
                convolved.values.map { max(0, $0) }, shape: (architecture.conv2, convolved.height, convolved.width))
        }
        if cut <= 1 {
            values = dense(values, outputs: architecture.hidden, parameters: parameters, offset: &offset).map {
                max(0, $0)
            }
        }
        return dense(values, outputs: architecture.classes, parameters: parameters, offset: &offset)
    }

    func dense(_ input: [Double], outputs: Int, parameters: [Double], offset: inout Int) -> [Double] {
        let weights = offset
        let biases = offset + outputs * input.count
        offset = biases + outputs
        return (0..<outputs).map { unit in
            var sum = parameters[biases + unit]
            for index in input.indices {
                sum += parameters[weights + unit * input.count + index] * input[index]
            }
            return sum
        }
    }

    private func convolve(
        _ input: [Double], shape: (channels: Int, height: Int, width: Int), outputChannels: Int,
        parameters: [Double], offset: inout Int
    ) -> (values: [Double], height: Int, width: Int) {
        let (kernel, padding) = (architecture.kernel, architecture.padding)
        let height = shape.height + 2 * padding - kernel + 1
        let width = shape.width + 2 * padding - kernel + 1
        let weights = offset
        let biases = offset + outputChannels * shape.channels * kernel * kernel
        offset = biases + outputChannels
        var output = [Double](repeating: 0, count: outputChannels * height * width)
        for out in 0..<outputChannels {
            for y in 0..<height {
                for x in 0..<width {
                    var sum = parameters[biases + out]
                    for channel in 0..<shape.channels {
                        for ky in 0..<kernel {
                            for kx in 0..<kernel {
                                let (inputY, inputX) = (y + ky - padding, x + kx - padding)
                                guard inputY >= 0, inputY < shape.height, inputX >= 0, inputX < shape.width else {
                                    continue
                                }
                                let weight = parameters[
                                    weights + ((out * shape.channels + channel) * kernel + ky) * kernel + kx]
                                sum += weight * input[(channel * shape.height + inputY) * shape.width + inputX]
                            }
                        }
                    }
                    output[(out * height + y) * width + x] = sum
                }
            }
        }
        return (output, height, width)
    }

    private func pool(_ input: [Double], shape: (channels: Int, height: Int, width: Int)) -> [Double] {
        let (height, width) = (shape.height / 2, shape.width / 2)
        var output: [Double] = []
        for channel in 0..<shape.channels {
            for y in 0..<height {
                for x in 0..<width {
                    let at = { (dy: Int, dx: Int) in
                        input[(channel * shape.height + 2 * y + dy) * shape.width + 2 * x + dx]
                    }
                    output.append(max(max(at(0, 0), at(0, 1)), max(at(1, 0), at(1, 1))))
                }
            }
        }
        return output
    }
}

/// Losses written out in Double, as the reference for the engine's.
enum NaiveLoss {
    static func crossEntropy(_ logits: [Double], label: Int) -> Double {
        let maximum = logits.max()!  // !-safe: at least one class
        return Foundation.log(logits.map { Foundation.exp($0 - maximum) }.reduce(0, +)) + maximum - logits[label]
    }

    static func distillation(student: [Double], teacher: [Double], temperature: Double) -> Double {
        let p = softmax(teacher.map { $0 / temperature })
        let q = softmax(student.map { $0 / temperature })
        return temperature * temperature * zip(p, q).reduce(0.0) { $0 + $1.0 * Foundation.log($1.0 / $1.1) }
    }

    static func softmax(_ values: [Double]) -> [Double] {
        let maximum = values.max()!  // !-safe: at least one class
        let exponentials = values.map { Foundation.exp($0 - maximum) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { $0 / sum }
    }

    /// Central differences of `loss` in Double for the parameters at `indices`.
    static func gradient(_ parameters: [Double], indices: Range<Int>, loss: ([Double]) -> Double) -> [Double] {
        var values = parameters
        let step = 1e-6
        return indices.map { index in
            values[index] = parameters[index] + step
            let above = loss(values)
            values[index] = parameters[index] - step
            let below = loss(values)
            values[index] = parameters[index]
            return (above - below) / (2 * step)
        }
    }
}
