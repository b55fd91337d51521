import ElideTensor
import Foundation

/// KL(p ‖ q) of one position, where p is the dense model's distribution and q a candidate's:
/// Σ_v p(v) (log p(v) − log q(v)). Sums are in Double, or in Float over blocks of 256 terms that are
/// then added in Double. A result that is not finite (a candidate with NaN or infinite logits) is
/// returned as `+infinity`, so it ranks last.
enum KLDivergence {
    /// Returns the largest value of `x` and the lowest index where it occurs. NaNs are skipped, so a
    /// buffer of nothing but NaNs gives (-infinity, 0).
    static func argmax(_ x: UnsafePointer<Float>, count: Int) -> (value: Float, index: Int) {
        var best = SIMD8<Float>(repeating: -.infinity)
        var bestIndex = SIMD8<Int32>(repeating: 0)
        var lanes = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        let step = SIMD8<Int32>(repeating: 8)
        var i = 0
        while i + 8 <= count {
            let values = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            let greater = values .> best
            best.replace(with: values, where: greater)
            bestIndex.replace(with: lanes, where: greater)
            lanes &+= step
            i += 8
        }
        var value = -Float.infinity
        var index = 0
        for lane in 0..<8 where best[lane] > value || (best[lane] == value && Int(bestIndex[lane]) < index) {
            value = best[lane]
            index = Int(bestIndex[lane])
        }
        while i < count {
            if x[i] > value {
                value = x[i]
                index = i
            }
            i += 1
        }
        return (value, index)
    }

    /// Returns log Σ exp(x[i]) and overwrites `x` with softmax(x).
    ///
    /// After the softmax the largest entry equals 1 / Σ exp(x[i] − max), which gives the sum without
    /// a second pass of exponentials.
    static func logSumExpReplacingWithSoftmax(_ x: UnsafeMutablePointer<Float>, count: Int) -> Double {
        let (maximum, index) = argmax(x, count: count)
        Kernels.softmax(x, count: count)
        return Double(maximum) - log(Double(x[index]))
    }

    /// KL over the whole vocabulary of one position.
    ///
    /// - Parameters:
    ///   - teacher: the dense model's log-probabilities, `count` floats (read-only).
    ///   - student: the candidate's logits, `count` floats; overwritten.
    ///   - probabilities: scratch space of `count` floats.
    static func exact(
        teacher: UnsafePointer<Float>, student: UnsafeMutablePointer<Float>, count: Int,
        probabilities: UnsafeMutablePointer<Float>
    ) -> Double {
        // The stored log-probabilities are rounded, so renormalise them: p = softmax(teacher) and
        // log p = teacher − logSumExp(teacher).
        probabilities.update(from: teacher, count: count)
        let teacherShift = logSumExpReplacingWithSoftmax(probabilities, count: count)

        // Σ p (teacher − student) and Σ p, before the student's logits are replaced.
        var weighted = 0.0
        var mass = 0.0
        var start = 0
        while start < count {
            let end = min(start + 256, count)
            var blockWeighted = SIMD16<Float>()
            var blockMass = SIMD16<Float>()
            var i = start
            while i + 16 <= end {
                let p = UnsafeRawPointer(probabilities + i).loadUnaligned(as: SIMD16<Float>.self)
                let t = UnsafeRawPointer(teacher + i).loadUnaligned(as: SIMD16<Float>.self)
                let s = UnsafeRawPointer(student + i).loadUnaligned(as: SIMD16<Float>.self)
                blockWeighted += p * (t - s)
                blockMass += p
                i += 16
            }
            weighted += Double(blockWeighted.sum())
            mass += Double(blockMass.sum())
            while i < end {
                weighted += Double(probabilities[i]) * (Double(teacher[i]) - Double(student[i]))
                mass += Double(probabilities[i])
                i += 1
            }
            start = end
        }

        // Σ p (log p − log q) = Σ p (teacher − student) + (logSumExp(student) − logSumExp(teacher)) Σ p.
        let studentShift = logSumExpReplacingWithSoftmax(student, count: count)
        let divergence = weighted + (studentShift - teacherShift) * mass
        return divergence.isFinite ? divergence : .infinity
    }

    /// KL over the teacher's top `count` tokens, both distributions renormalised over them.
    ///
    /// - Parameters:
    ///   - teacher: the teacher's log-probabilities renormalised over the `count` tokens.
    ///   - student: the candidate's logits at the same tokens.
    static func topK(teacher: UnsafePointer<Float>, student: UnsafePointer<Float>, count: Int) -> Double {
        var maximum = -Float.infinity
        for k in 0..<count where student[k] > maximum { maximum = student[k] }
        var sum = 0.0
        for k in 0..<count { sum += exp(Double(student[k] - maximum)) }
        let studentShift = Double(maximum) + log(sum)

        var divergence = 0.0
        for k in 0..<count {
            let logP = Double(teacher[k])
            divergence += exp(logP) * (logP - (Double(student[k]) - studentShift))
        }
        return divergence.isFinite ? divergence : .infinity
    }

    /// Replaces `count` logits by their log-probabilities (log-softmax), in Float.
    static func logSoftmax(_ logits: UnsafeMutablePointer<Float>, count: Int, scratch: UnsafeMutablePointer<Float>) {
        scratch.update(from: logits, count: count)
        let shift = Float(logSumExpReplacingWithSoftmax(scratch, count: count))
        for i in 0..<count { logits[i] -= shift }
    }
}
