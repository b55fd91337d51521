import ElideTensor
import Foundation
import Testing

@Suite("Element-wise kernels")
struct ElementwiseKernelTests {
    @Test("RoPE turns each adjacent pair like a complex multiplication", arguments: [0, 1, 7, 100, 1000, 4095])
    func rope(position: Int) {
        let heads = 3
        let headDim = 64
        let base: Float = 10000
        var rng = SeededGenerator(seed: UInt64(position) + 100)
        let x = rng.floats(heads * headDim)
        var y = x
        y.withUnsafeMutableBufferPointer {
            Kernels.rope($0.baseAddress!, heads: heads, headDim: headDim, position: position, base: base)
        }
        // The kernel builds angles by repeated Float multiplication, as ggml does; allow for that drift.
        let angleTolerance = Double(position) * Double(headDim / 2) * 1.2e-7 + 1e-6
        for head in 0..<heads {
            for i in 0..<headDim / 2 {
                let angle = Double(position) * pow(Double(base), -2 * Double(i) / Double(headDim))
                let z0 = Double(x[head * headDim + 2 * i])
                let z1 = Double(x[head * headDim + 2 * i + 1])
                // (z0 + i z1) × e^{iθ}
                let re = z0 * cos(angle) - z1 * sin(angle)
                let im = z0 * sin(angle) + z1 * cos(angle)
                let radius = (z0 * z0 + z1 * z1).squareRoot()
                let tolerance = radius * angleTolerance + 1e-6
                #expect(abs(Double(y[head * headDim + 2 * i]) - re) <= tolerance)
                #expect(abs(Double(y[head * headDim + 2 * i + 1]) - im) <= tolerance)
            }
        }
    }

    @Test("RMSNorm divides by the root mean square and multiplies by the weight")
    func rmsNorm() {
        var rng = SeededGenerator(seed: 21)
        let count = 576
        let x = rng.floats(count, in: -3...3)
        let weight = rng.floats(count, in: 0...2)
        var y = [Float](repeating: 0, count: count)
        let epsilon: Float = 1e-5
        x.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer {
                    Kernels.rmsNorm(
                        xp.baseAddress!, weight: wp.baseAddress!, count: count, epsilon: epsilon, into: $0.baseAddress!)
                }
            }
        }
        let meanSquare = x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(count)
        let scale = 1 / (meanSquare + Double(epsilon)).squareRoot()
        for i in 0..<count {
            let expected = Double(x[i]) * scale * Double(weight[i])
            #expect(abs(Double(y[i]) - expected) <= abs(expected) * 1e-6 + 1e-7)
        }
    }

    @Test("Softmax handles large values without overflow and masked entries")
    func softmax() {
        var x: [Float] = [1000, 1001, 999, -.infinity, 1000.5, -50]
        x.withUnsafeMutableBufferPointer { Kernels.softmax($0.baseAddress!, count: $0.count) }
        let inputs: [Double] = [1000, 1001, 999, -.infinity, 1000.5, -50]
        let exps = inputs.map { exp($0 - 1001) }
        let total = exps.reduce(0, +)
        for i in 0..<x.count {
            #expect(x[i].isFinite)
            #expect(abs(Double(x[i]) - exps[i] / total) <= 1e-6)
        }
        #expect(x[3] == 0)
        #expect(abs(x.reduce(0, +) - 1) < 1e-6)
    }

    @Test("Softmax over many entries matches a Double reference, masked entries exactly 0")
    func softmaxLong() {
        var rng = SeededGenerator(seed: 23)
        let count = 77
        var inputs = rng.floats(count, in: -60...60).map(Double.init)
        for i in stride(from: 3, to: count, by: 7) { inputs[i] = -.infinity }
        inputs[10] = 3000
        inputs[11] = 2990
        inputs[12] = 2900
        var x = inputs.map(Float.init)
        x.withUnsafeMutableBufferPointer { Kernels.softmax($0.baseAddress!, count: count) }
        let maximum = inputs.max()!
        let exps = inputs.map { exp($0 - maximum) }
        let total = exps.reduce(0, +)
        for i in 0..<count {
            let expected = exps[i] / total
            #expect(abs(Double(x[i]) - expected) <= expected * 2e-6 + 1e-30, "entry \(i): \(x[i]) vs \(expected)")
            if inputs[i] == -.infinity { #expect(x[i] == 0) }
        }
    }

    @Test("SiLU at extreme inputs stays finite and accurate")
    func siluExtremes() {
        let inputs: [Float] = [-200, -100, -88, -87, -30, -1e-3, 0, 1e-3, 30, 87, 88, 100, 200, -0.5, 0.5, 5]
        var x = inputs
        x.withUnsafeMutableBufferPointer { Kernels.silu($0.baseAddress!, count: $0.count) }
        for (value, got) in zip(inputs, x) {
            let v = Double(value)
            let expected = v / (1 + exp(-v))
            #expect(got.isFinite)
            #expect(
                abs(Double(got) - expected) <= abs(expected) * 2e-6 + 1e-30,
                "silu(\(value)) = \(got), expected \(expected)")
        }
    }

    @Test("SiLU and SwiGLU match x / (1 + e^−x)")
    func silu() {
        var rng = SeededGenerator(seed: 22)
        let count = 203
        let x = rng.floats(count, in: -20...20)
        let up = rng.floats(count)
        var s = x
        s.withUnsafeMutableBufferPointer { Kernels.silu($0.baseAddress!, count: count) }
        var g = x
        up.withUnsafeBufferPointer { u in
            g.withUnsafeMutableBufferPointer { Kernels.swiglu(gate: $0.baseAddress!, up: u.baseAddress!, count: count) }
        }
        for i in 0..<count {
            let v = Double(x[i])
            let expected = v / (1 + exp(-v))
            #expect(abs(Double(s[i]) - expected) <= abs(expected) * 1e-6 + 1e-7)
            #expect(abs(Double(g[i]) - expected * Double(up[i])) <= abs(expected * Double(up[i])) * 1e-6 + 1e-7)
        }
    }

    @Test(
        "dot and axpy agree with Double loops for lengths around the vector width",
        arguments: [0, 1, 15, 16, 17, 31, 32, 33, 64, 577])
    func dotAndAxpy(count: Int) {
        var rng = SeededGenerator(seed: UInt64(count) + 30)
        let a = rng.floats(count)
        let b = rng.floats(count)
        let got = a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { Kernels.dot(ap.baseAddress!, $0.baseAddress!, count: count) }
        }
        let expected = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(Double(got) - expected) <= 1e-5)
        var y = b
        a.withUnsafeBufferPointer { ap in
            y.withUnsafeMutableBufferPointer { Kernels.axpy(0.5, ap.baseAddress!, $0.baseAddress!, count: count) }
        }
        for i in 0..<count {
            #expect(abs(Double(y[i]) - (Double(b[i]) + 0.5 * Double(a[i]))) <= 1e-6)
        }
    }
}
