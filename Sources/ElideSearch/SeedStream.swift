import ElideSupport

/// Independent random streams derived from one search seed.
///
/// Each consumer derives its generator from (seed, stream, indices), for example the minibatch of generation 3,
/// stage 1, so a draw never depends on how many values another consumer took or on the order of evaluation.
enum SeedStream: UInt64 {
    case initialCandidates = 1
    case offspring = 2
    case minibatch = 3
    case randomSample = 4
    case bruteForce = 5

    func generator(seed: UInt64, _ indices: Int...) -> SeededGenerator {
        var generator = SeededGenerator(seed: seed).split(rawValue)
        for index in indices {
            generator = generator.split(UInt64(bitPattern: Int64(index)))
        }
        return generator
    }
}

extension SeededGenerator {
    /// Draws a uniform integer in `0..<bound` with Lemire's multiply-and-reject method.
    ///
    /// The search uses this instead of `Int.random(in:using:)` so a seed gives the same draws whatever the standard
    /// library's algorithm becomes.
    mutating func uniformIndex(below bound: Int) -> Int {
        precondition(bound > 0, "uniformIndex(below:) needs a positive bound, got \(bound)")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// Draws `count` distinct integers from `0..<population` in draw order (a partial Fisher–Yates shuffle).
    mutating func sampleWithoutReplacement(count: Int, from population: Int) -> [Int] {
        precondition(count >= 0 && count <= population, "cannot draw \(count) distinct values from \(population)")
        var pool = Array(0..<population)
        for position in 0..<count {
            let chosen = position + uniformIndex(below: population - position)
            pool.swapAt(position, chosen)
        }
        return Array(pool.prefix(count))
    }
}
