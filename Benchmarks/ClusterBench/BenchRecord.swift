import Foundation

/// One sample, printed as a JSON object on one line of standard output.
struct BenchRecord {
    enum Value {
        case text(String)
        case number(Double)
        case integer(Int)
        case flag(Bool)
    }

    private var fields: [(String, Value)]

    init(test: String) {
        fields = [("test", .text(test))]
    }

    subscript(key: String) -> Value? {
        get { fields.first { $0.0 == key }?.1 }
        set {
            fields.removeAll { $0.0 == key }
            if let newValue { fields.append((key, newValue)) }
        }
    }

    var jsonLine: String {
        let members = fields.map { key, value in "\(Self.quoted(key)): \(Self.encode(value))" }
        return "{" + members.joined(separator: ", ") + "}"
    }

    func print() {
        Swift.print(jsonLine)
        fflush(nil)
    }

    private static func encode(_ value: Value) -> String {
        switch value {
        case .text(let text): return quoted(text)
        case .integer(let integer): return String(integer)
        case .flag(let flag): return flag ? "true" : "false"
        case .number(let number): return number.isFinite ? String(format: "%.6g", number) : "null"
        }
    }

    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

/// Progress and errors on standard error, so that standard output holds only records.
enum BenchLog {
    static func info(_ message: String) {
        FileHandle.standardError.write(Data("cluster-bench: \(message)\n".utf8))
    }

    static func error(_ message: String) {
        FileHandle.standardError.write(Data("cluster-bench: error: \(message)\n".utf8))
    }
}

/// A failure of the benchmark itself, with what went wrong and what to check.
struct BenchFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// CPU time of all threads of this process, which, unlike wall time, does not grow while other processes hold
/// the cores.
enum ProcessCPUClock {
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    static func seconds(since start: UInt64) -> Double {
        Double(now() &- start) / 1e9
    }
}

/// Order statistics of a set of durations.
struct Percentiles {
    private let sorted: [Double]

    init(_ values: [Double]) {
        precondition(!values.isEmpty, "percentiles of an empty sample")
        sorted = values.sorted()
    }

    /// Returns the nearest-rank percentile: the smallest value with at least `percent` % of the sample at or
    /// below it.
    func value(_ percent: Double) -> Double {
        let rank = Int((percent / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    var mean: Double { sorted.reduce(0, +) / Double(sorted.count) }
}
