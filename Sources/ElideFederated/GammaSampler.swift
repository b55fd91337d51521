import ElideSupport
import Foundation

/// Seeded draws from the Gamma and Dirichlet distributions.
///
/// Gamma(shape, 1) uses Marsaglia and Tsang's squeeze method ("A simple method for generating gamma
/// variables", ACM TOMS 26(3), 2000). Shapes below 1 use their boost: Gamma(a) = Gamma(a + 1) · U^(1/a).
/// Normal draws for the method come from the Box-Muller transform.
public enum GammaSampler {
    /// Draws one Gamma(shape, 1) value; `shape` must be positive.
    public static func gamma(shape: Double, using generator: inout SeededGenerator) -> Double {
        precondition(shape > 0, "the Gamma shape must be positive, got \(shape)")
        if shape < 1 {
            let boosted = gamma(shape: shape + 1, using: &generator)
            return boosted * pow(openUnit(&generator), 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            let x = normal(&generator)
            let base = 1 + c * x
            guard base > 0 else { continue }
            let v = base * base * base
            let u = openUnit(&generator)
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// Draws a point of the Dirichlet(alpha, ..., alpha) simplex in `dimension` coordinates.
    public static func symmetricDirichlet(
        alpha: Double, dimension: Int, using generator: inout SeededGenerator
    ) -> [Double] {
        precondition(dimension >= 1, "a Dirichlet draw needs at least 1 coordinate, got \(dimension)")
        var draws = (0..<dimension).map { _ in gamma(shape: alpha, using: &generator) }
        var total = draws.reduce(0, +)
        // Tiny shapes can underflow every draw to 0; fall back to a one-hot point, the limit as alpha -> 0.
        if !(total > 0) {
            draws = [Double](repeating: 0, count: dimension)
            draws[generator.below(dimension)] = 1
            total = 1
        }
        return draws.map { $0 / total }
    }

    /// Draws a uniform value in (0, 1], never 0, so its logarithm is finite.
    static func openUnit(_ generator: inout SeededGenerator) -> Double {
        Double((generator.next() >> 11) + 1) * 0x1p-53
    }

    /// Draws a standard normal value by the Box-Muller transform.
    static func normal(_ generator: inout SeededGenerator) -> Double {
        let radius = (-2 * log(openUnit(&generator))).squareRoot()
        return radius * cos(2 * Double.pi * openUnit(&generator))
    }
}
