// Micro-benchmark of ElideTensor's kernels on SmolLM2-135M's shapes.
//
// Usage: elide-kernel-bench [--threads 1,2] [--tokens 20] [--prefill 512]
// Prints nanoseconds per matrix product, weight bandwidth, a decode-step equivalent (30 layers of
// Q4_1 projections plus the Q8_0 output head) and a 512-token prefill equivalent.

import ElideTensor

#if canImport(Glibc)
    import Glibc
#endif

struct Options {
    var threads = [1, 2]
    var decodeTokens = 20
    var prefillTokens = 512

    init(_ arguments: [String]) {
        var i = 1
        while i < arguments.count {
            let value = i + 1 < arguments.count ? arguments[i + 1] : ""
            switch arguments[i] {
            case "--threads": threads = value.split(separator: ",").compactMap { Int($0) }
            case "--tokens": decodeTokens = Int(value) ?? decodeTokens
            case "--prefill": prefillTokens = Int(value) ?? prefillTokens
            default:
                print("unknown option \(arguments[i]); expected --threads LIST, --tokens N, --prefill N")
                exit(2)
            }
            i += 2
        }
    }
}

func nanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// CPU time of all threads of this process; unlike wall time, it does not grow while other
/// processes hold the cores.
func cpuNanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// SplitMix64, seeded, for reproducible random weights.
struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

/// A matrix of random but valid blocks (finite, moderate scales) that owns its storage.
final class RandomMatrix {
    let storage: UnsafeMutableRawPointer
    let matrix: QuantizedMatrix

    init(type: GGMLType, rows: Int, columns: Int, generator: inout Generator) {
        let bytes = type.rowBytes(columns) * rows
        storage = .allocate(byteCount: bytes, alignment: 64)
        var offset = 0
        while offset + 8 <= bytes {
            storage.storeBytes(of: generator.next(), toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        // Overwrite each block's F16 header with sane scales.
        if type.blockSize == 32 {
            let headerHalves = type == .q4_1 ? 2 : 1
            for block in 0..<(bytes / type.blockBytes) {
                for h in 0..<headerHalves {
                    let value = Float16(0.001 + 0.02 * generator.unit())
                    storage.storeBytes(
                        of: value.bitPattern, toByteOffset: block * type.blockBytes + 2 * h, as: UInt16.self)
                }
            }
        } else if type == .f16 {
            for i in 0..<(bytes / 2) {
                storage.storeBytes(of: Float16(generator.unit() - 0.5).bitPattern, toByteOffset: 2 * i, as: UInt16.self)
            }
        } else if type == .f32 {
            for i in 0..<(bytes / 4) {
                storage.storeBytes(of: generator.unit() - 0.5, toByteOffset: 4 * i, as: Float.self)
            }
        }
        matrix = QuantizedMatrix(type: type, rows: rows, columns: columns, data: storage)
    }

    deinit { storage.deallocate() }
}

let options = Options(CommandLine.arguments)
var generator = Generator(state: 42)
let hidden = 576
let kv = 192
let ffn = 1536
let vocabulary = 49152
let layerCount = 30
let layerShapes: [(String, Int, Int)] = [
    ("q", hidden, hidden), ("k", kv, hidden), ("v", kv, hidden), ("o", hidden, hidden),
    ("gate", ffn, hidden), ("up", ffn, hidden), ("down", hidden, ffn),
]

print("OpenBLAS kernels: \(Kernels.blasCoreName)")
print("Building \(layerCount) layers of random Q4_1 weights and a Q8_0 head …")
let layers: [[RandomMatrix]] = (0..<layerCount).map { _ in
    layerShapes.map { RandomMatrix(type: .q4_1, rows: $0.1, columns: $0.2, generator: &generator) }
}
let head = RandomMatrix(type: .q8_0, rows: vocabulary, columns: hidden, generator: &generator)
let maxTokens = max(options.prefillTokens, 1)
let input = UnsafeMutablePointer<Float>.allocate(capacity: maxTokens * ffn)
for i in 0..<(maxTokens * ffn) { input[i] = generator.unit() * 2 - 1 }
let output = UnsafeMutablePointer<Float>.allocate(capacity: maxTokens * vocabulary)

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// `value` with `decimals` digits after the point (no Foundation).
func fixed(_ value: Double, _ decimals: Int = 0) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((abs(value) * scale).rounded())
    let whole = scaled / Int(scale)
    let sign = value < 0 ? "-" : ""
    if decimals == 0 { return sign + String(whole) }
    let fraction = String(scaled % Int(scale))
    return sign + String(whole) + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

func padLeft(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

for threads in options.threads {
    let pool = ThreadPool(threads: threads)
    print("\n=== \(threads) thread(s) ===")

    // Thread pool overhead: empty chunks, one per thread.
    for _ in 0..<1000 { pool.parallelFor(threads) { _ in } }
    let calls = 200_000
    var start = nanoseconds()
    for _ in 0..<calls { pool.parallelFor(threads) { _ in } }
    let perCall = Double(nanoseconds() - start) / Double(calls)
    start = nanoseconds()
    for _ in 0..<calls { pool.parallelFor(16) { _ in } }
    let perCall16 = Double(nanoseconds() - start) / Double(calls)
    print(
        "parallelFor overhead: \(fixed(perCall)) ns/call (\(threads) empty chunks), \(fixed(perCall16)) ns/call (16 chunks)"
    )

    // Latency of a loop that follows an idle gap: it rises once the workers stop spinning and sleep.
    if threads > 1 {
        var report = "parallelFor after an idle gap:"
        for gap in [50, 100, 200, 400, 1000, 2000] {
            var samples = [Double]()
            for _ in 0..<30 {
                pool.parallelFor(threads) { _ in }
                let gapEnd = nanoseconds() + UInt64(gap) * 1000
                while nanoseconds() < gapEnd {}
                start = nanoseconds()
                pool.parallelFor(threads) { _ in }
                samples.append(Double(nanoseconds() - start))
            }
            report += " \(gap) µs → \(fixed(median(samples))) ns;"
        }
        print(report)
    }

    // Each product, one token, repeated on the same weights (cache-warm).
    print("shape                 precision  wall ns/call  GB/s   CPU ns/call (all threads)")
    let singles: [(String, QuantizedMatrix)] =
        layerShapes.indices.filter { [0, 1, 4, 6].contains($0) }.map {
            ("\(layerShapes[$0].0) \(layerShapes[$0].1)x\(layerShapes[$0].2) Q4_1", layers[0][$0].matrix)
        } + [("head 49152x576 Q8_0", head.matrix)]
    for (name, matrix) in singles {
        for precision in ActivationPrecision.allCases {
            let repeats = matrix.rows > 10_000 ? 30 : 2000
            var samples = [Double]()
            var cpuSamples = [Double]()
            for _ in 0..<5 {
                start = nanoseconds()
                let cpuStart = cpuNanoseconds()
                for _ in 0..<repeats {
                    Kernels.matmul(matrix, input, tokens: 1, output, precision: precision, pool: pool)
                }
                cpuSamples.append(Double(cpuNanoseconds() - cpuStart) / Double(repeats))
                samples.append(Double(nanoseconds() - start) / Double(repeats))
            }
            let ns = median(samples)
            let bandwidth = Double(matrix.byteCount) / ns
            print(
                pad(name, 22) + pad(precision.rawValue, 10) + padLeft(fixed(ns), 11) + padLeft(fixed(bandwidth, 1), 7)
                    + padLeft(fixed(median(cpuSamples)), 12))
        }
    }

    // Decode-step equivalent: every projection of 30 distinct layers, then the head.
    for precision in ActivationPrecision.allCases {
        var samples = [Double]()
        var cpuSamples = [Double]()
        for _ in 0..<options.decodeTokens {
            start = nanoseconds()
            let cpuStart = cpuNanoseconds()
            for layer in layers {
                for matrix in layer {
                    Kernels.matmul(matrix.matrix, input, tokens: 1, output, precision: precision, pool: pool)
                }
            }
            Kernels.matmul(head.matrix, input, tokens: 1, output, precision: precision, pool: pool)
            samples.append(Double(nanoseconds() - start) / 1e6)
            cpuSamples.append(Double(cpuNanoseconds() - cpuStart) / 1e6)
        }
        let ms = median(samples)
        print(
            "decode step (30 layers + head, \(precision.rawValue)): \(fixed(ms, 2)) ms wall median"
                + " → \(fixed(1000 / ms)) tokens/s bound for the matmuls; CPU \(fixed(median(cpuSamples), 2)) ms")
    }

    // The same step with grouped products: query/key/value and gate/up each in one loop.
    for precision in ActivationPrecision.allCases {
        var samples = [Double]()
        for _ in 0..<options.decodeTokens {
            start = nanoseconds()
            for layer in layers {
                Kernels.matmul(
                    [
                        (layer[0].matrix, output), (layer[1].matrix, output + hidden),
                        (layer[2].matrix, output + hidden + kv),
                    ],
                    input, tokens: 1, precision: precision, pool: pool)
                Kernels.matmul(layer[3].matrix, input, tokens: 1, output, precision: precision, pool: pool)
                Kernels.matmul(
                    [(layer[4].matrix, output), (layer[5].matrix, output + ffn)], input, tokens: 1,
                    precision: precision,
                    pool: pool)
                Kernels.matmul(layer[6].matrix, input, tokens: 1, output, precision: precision, pool: pool)
            }
            Kernels.matmul(head.matrix, input, tokens: 1, output, precision: precision, pool: pool)
            samples.append(Double(nanoseconds() - start) / 1e6)
        }
        let ms = median(samples)
        print(
            "decode step, grouped q/k/v and gate/up (\(precision.rawValue)): \(fixed(ms, 2)) ms wall median"
                + " → \(fixed(1000 / ms)) tokens/s bound for the matmuls")
    }

    // Prefill equivalent: every projection of 30 layers on a batch, head on the last token only.
    let batch = options.prefillTokens
    if batch > 1 {
        for precision in ActivationPrecision.allCases {
            var samples = [Double]()
            for _ in 0..<3 {
                start = nanoseconds()
                for layer in layers {
                    for matrix in layer {
                        Kernels.matmul(matrix.matrix, input, tokens: batch, output, precision: precision, pool: pool)
                    }
                }
                Kernels.matmul(head.matrix, input, tokens: 1, output, precision: precision, pool: pool)
                samples.append(Double(nanoseconds() - start) / 1e6)
            }
            let ms = median(samples)
            print(
                "prefill of \(batch) tokens (\(precision.rawValue)): \(fixed(ms, 1)) ms"
                    + " → \(fixed(Double(batch) * 1000 / ms)) tokens/s for the matmuls")
        }
        var samples = [Double]()
        for _ in 0..<2 {
            start = nanoseconds()
            Kernels.matmul(head.matrix, input, tokens: batch, output, precision: .f32, pool: pool)
            samples.append(Double(nanoseconds() - start) / 1e6)
        }
        print("head on all \(batch) tokens (f32, as perplexity needs): \(fixed(median(samples), 1)) ms")
    }
}
