import Foundation

/// Writes a job report as files: `report.json` (all of it), `summary.txt`, `plan.json` when the report has
/// a `plan`, and one `NAME.svg` or `NAME.jsonl` per string value named `NAME_svg` or `NAME_jsonl`.
enum ReportFiles {
    /// Creates `folder` if needed, writes the files and returns their names in writing order.
    static func write(_ report: JobReport, to folder: String) throws -> [String] {
        let directory = URL(fileURLWithPath: folder, isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var written: [String] = []
        func save(_ data: Data, as name: String) throws {
            try data.write(to: directory.appendingPathComponent(name), options: .atomic)
            written.append(name)
        }

        try save(try ClusterJSON.encoder.encode(report) + Data("\n".utf8), as: "report.json")
        try save(Data((report.summary + "\n").utf8), as: "summary.txt")
        if let plan = report.values["plan"], plan != .null {
            try save(try ClusterJSON.encoder.encode(plan) + Data("\n".utf8), as: "plan.json")
        }
        for (key, value) in report.values.sorted(by: { $0.key < $1.key }) {
            guard case .string(let text) = value else { continue }
            for suffix in ["svg", "jsonl"] where key.hasSuffix("_" + suffix) {
                try save(Data(text.utf8), as: String(key.dropLast(suffix.count + 1)) + "." + suffix)
            }
        }
        return written
    }
}
