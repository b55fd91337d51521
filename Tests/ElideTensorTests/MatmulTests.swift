import ElideTensor
import Testing

@Suite("Quantized matrix products")
struct MatmulTests {
    static let weightTypes: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q8_0]

    /// Rounds activations as llama.cpp does for a product with `type` weights at `.q8`.
    ///
    /// For Q8_1 it also returns each block's stored `s = d × Σq`. The Q4_1 product uses this
    /// F16-rounded value in place of `d × Σq` for the minimum's term.
    static func roundedActivations(_ x: [Float], columns: Int, weight type: GGMLType) -> (
        values: [Double], sums: [Double]
    ) {
        let activationType: GGMLType
        switch type {
        case .q4_0, .q8_0: activationType = .q8_0
        case .q4_1: activationType = .q8_1
        case .f16: return (x.map { Double(Float(Float16($0))) }, [])
        case .bf16:
            let values = x.map { value in
                let bits = value.bitPattern
                let rounded = (bits &+ 0x7fff &+ ((bits >> 16) & 1)) & 0xffff_0000
                return Double(Float(bitPattern: rounded))
            }
            return (values, [])
        default: return (x.map(Double.init), [])
        }
        var values = [Double]()
        var sums = [Double]()
        for t in 0..<x.count / columns {
            let row = Array(x[(t * columns)..<((t + 1) * columns)])
            let bytes = row.withUnsafeBufferPointer { p in
                bytesWritten(count: activationType.rowBytes(columns)) {
                    Kernels.convertRow(p.baseAddress!, count: columns, to: activationType, into: $0)
                }
            }
            values += Reference.decode(activationType, bytes, count: columns)
            if activationType == .q8_1 {
                for block in 0..<columns / 32 { sums.append(Reference.f16(bytes, block * 36 + 2)) }
            }
        }
        return (values, sums)
    }

    static func check(
        type: GGMLType, precision: ActivationPrecision, rows: Int, columns: Int, tokens: Int, threads: Int, seed: UInt64
    ) {
        var rng = SeededGenerator(seed: seed)
        var weightBytes = [UInt8]()
        for _ in 0..<rows { weightBytes += Reference.randomRow(type, count: columns, using: &rng) }
        let x = rng.floats(tokens * columns, in: -2...2)
        var weights = Reference.decode(type, weightBytes, count: rows * columns)
        var activations = x.map(Double.init)
        // For Q4_1 at .q8 the kernel adds m × s per block, where s is the activation block's stored
        // F16 sum. The reference splits the minimum off the weights to do the same.
        var minimums = [Double]()
        var sums = [Double]()
        if precision == .q8 {
            (activations, sums) = roundedActivations(x, columns: columns, weight: type)
            if type == .q4_1 {
                let blocks = columns / 32
                for r in 0..<rows {
                    for b in 0..<blocks {
                        let m = Reference.f16(weightBytes, (r * blocks + b) * 20 + 2)
                        minimums.append(m)
                        for j in 0..<32 { weights[r * columns + b * 32 + j] -= m }
                    }
                }
            }
        }

        var y = [Float](repeating: .nan, count: tokens * rows)
        let pool = ThreadPool(threads: threads)
        weightBytes.withUnsafeBytes { raw in
            let matrix = QuantizedMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    Kernels.matmul(
                        matrix, xp.baseAddress!, tokens: tokens, yp.baseAddress!, precision: precision, pool: pool)
                }
            }
        }
        var failures = 0
        for t in 0..<tokens {
            for r in 0..<rows {
                var sum = 0.0
                var magnitude = 0.0
                for c in 0..<columns {
                    let product = weights[r * columns + c] * activations[t * columns + c]
                    sum += product
                    magnitude += abs(product)
                }
                if !minimums.isEmpty {
                    let blocks = columns / 32
                    for b in 0..<blocks {
                        let product = minimums[r * blocks + b] * sums[t * blocks + b]
                        sum += product
                        magnitude += abs(product)
                    }
                }
                let got = Double(y[t * rows + r])
                if !(abs(got - sum) <= magnitude * 3e-5 + 1e-5) {
                    failures += 1
                    if failures <= 3 {
                        Issue.record("\(type) \(precision) token \(t) row \(r): got \(got), expected \(sum)")
                    }
                }
            }
        }
        #expect(failures == 0, "\(failures) of \(rows * tokens) outputs off for \(type) \(precision) ×\(tokens) tokens")
    }

    @Test("One token, odd row count, 1 and 2 threads", arguments: weightTypes, ActivationPrecision.allCases)
    func singleToken(type: GGMLType, precision: ActivationPrecision) {
        for threads in [1, 2] {
            Self.check(type: type, precision: precision, rows: 37, columns: 160, tokens: 1, threads: threads, seed: 1)
        }
    }

    @Test("A few tokens (below the BLAS threshold)", arguments: weightTypes, ActivationPrecision.allCases)
    func fewTokens(type: GGMLType, precision: ActivationPrecision) {
        #expect(3 < Kernels.blasTokenThreshold, "this case is meant to run the register kernels")
        Self.check(type: type, precision: precision, rows: 53, columns: 96, tokens: 3, threads: 2, seed: 2)
    }

    @Test("Many tokens (the batched path)", arguments: weightTypes, ActivationPrecision.allCases)
    func manyTokens(type: GGMLType, precision: ActivationPrecision) {
        #expect(67 >= Kernels.blasTokenThreshold, "this case is meant to run the OpenBLAS path at .f32")
        Self.check(type: type, precision: precision, rows: 71, columns: 128, tokens: 67, threads: 2, seed: 3)
    }

    @Test("Long rows and many rows in several chunks", arguments: [GGMLType.q4_1, .q8_0, .q4_0])
    func largeShapes(type: GGMLType) {
        Self.check(type: type, precision: .q8, rows: 301, columns: 1536, tokens: 1, threads: 3, seed: 4)
        Self.check(type: type, precision: .f32, rows: 301, columns: 1536, tokens: 1, threads: 3, seed: 5)
    }

    @Test("Grouped products equal separate calls", arguments: ActivationPrecision.allCases, [1, 3, 40])
    func grouped(precision: ActivationPrecision, tokens: Int) {
        var rng = SeededGenerator(seed: 7)
        let columns = 96
        let shapes: [(GGMLType, Int)] = [(.q4_1, 37), (.q4_1, 5), (.q4_1, 64), (.q8_0, 9)]
        let storages = shapes.map { shape in
            (0..<shape.1).flatMap { _ in Reference.randomRow(shape.0, count: columns, using: &rng) }
        }
        let x = rng.floats(tokens * columns)
        let pool = ThreadPool(threads: 2)
        // The first three share a type (one loop); adding the Q8_0 matrix makes the group mixed.
        for count in [3, 4] {
            var separate = shapes.map { [Float](repeating: .nan, count: tokens * $0.1) }
            var together = separate
            let pointers = storages.map { bytes in
                let pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
                pointer.copyMemory(from: bytes, byteCount: bytes.count)
                return pointer
            }
            defer { pointers.forEach { $0.deallocate() } }
            let matrices = (0..<shapes.count).map {
                QuantizedMatrix(type: shapes[$0].0, rows: shapes[$0].1, columns: columns, data: pointers[$0])
            }
            x.withUnsafeBufferPointer { xp in
                for i in 0..<count {
                    separate[i].withUnsafeMutableBufferPointer {
                        Kernels.matmul(
                            matrices[i], xp.baseAddress!, tokens: tokens, $0.baseAddress!, precision: precision,
                            pool: pool)
                    }
                }
                let buffers = (0..<count).map { UnsafeMutablePointer<Float>.allocate(capacity: tokens * shapes[$0].1) }
                defer { buffers.forEach { $0.deallocate() } }
                Kernels.matmul(
                    (0..<count).map { (matrices[$0], buffers[$0]) }, xp.baseAddress!, tokens: tokens,
                    precision: precision, pool: pool)
                for i in 0..<count {
                    together[i] = Array(UnsafeBufferPointer(start: buffers[i], count: tokens * shapes[i].1))
                }
            }
            for i in 0..<count {
                #expect(separate[i] == together[i], "product \(i) of \(count), \(precision), \(tokens) tokens")
            }
        }
    }

    @Test("Plain sgemm with and without transposed B")
    func sgemm() {
        var rng = SeededGenerator(seed: 6)
        let (m, n, k) = (5, 7, 9)
        let a = rng.floats(m * k)
        let b = rng.floats(n * k)
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    Kernels.sgemm(
                        m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: k, transposeB: true,
                        c: cp.baseAddress!, ldc: n)
                }
            }
        }
        for i in 0..<m {
            for j in 0..<n {
                let expected = (0..<k).reduce(0.0) { $0 + Double(a[i * k + $1]) * Double(b[j * k + $1]) }
                #expect(abs(Double(c[i * n + j]) - expected) < 1e-5)
            }
        }
        // B as k × n: element (l, j) is b[l * n + j].
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    Kernels.sgemm(
                        m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n, transposeB: false,
                        c: cp.baseAddress!, ldc: n)
                }
            }
        }
        for i in 0..<m {
            for j in 0..<n {
                let expected = (0..<k).reduce(0.0) { $0 + Double(a[i * k + $1]) * Double(b[$1 * n + j]) }
                #expect(abs(Double(c[i * n + j]) - expected) < 1e-5)
            }
        }
    }
}
