#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Knowledge-distillation loss `T² · KL(softmax(teacher / T) ‖ softmax(student / T))`, averaged over the batch.
///
/// The T² factor keeps the gradient's size comparable across temperatures (Hinton, Vinyals and Dean, "Distilling
/// the Knowledge in a Neural Network", 2015): ∂loss/∂student = T · (softmax_T(student) − softmax_T(teacher)) / batch.
public enum DistillationLoss {
    /// Returns the mean loss over `batch` rows and writes `weight · ∂loss/∂student` to `gradient`, adding to what
    /// it holds when `accumulate` is true. Only the student receives a gradient.
    @discardableResult
    public static func loss(
        student: UnsafePointer<Float>, teacher: UnsafePointer<Float>, batch: Int, classes: Int, temperature: Float,
        gradient: UnsafeMutablePointer<Float>, weight: Float = 1, accumulate: Bool = false
    ) -> Double {
        precondition(temperature > 0, "the distillation temperature must be positive, got \(temperature)")
        var total: Double = 0
        let scale = weight * temperature / Float(batch)
        for sample in 0..<batch {
            let studentRow = student + sample * classes
            let teacherRow = teacher + sample * classes
            let target = gradient + sample * classes
            let (studentLogSum, studentMaximum) = Softmax.logSumExp(
                studentRow, count: classes, temperature: temperature)
            let (teacherLogSum, teacherMaximum) = Softmax.logSumExp(
                teacherRow, count: classes, temperature: temperature)
            var divergence: Double = 0
            for index in 0..<classes {
                let studentLog = (studentRow[index] - studentMaximum) / temperature - studentLogSum
                let teacherLog = (teacherRow[index] - teacherMaximum) / temperature - teacherLogSum
                let teacherProbability = expf(teacherLog)
                divergence += Double(teacherProbability) * Double(teacherLog - studentLog)
                let value = scale * (expf(studentLog) - teacherProbability)
                target[index] = accumulate ? target[index] + value : value
            }
            total += divergence
        }
        return Double(temperature * temperature) * total / Double(batch)
    }
}
