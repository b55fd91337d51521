import ElideSupport
import Foundation
import Testing

@testable import ElideCluster

/// `elide compare` on report files that `federated` jobs wrote.
struct FederatedCompareTests {
    @Test func tableRowsComeFromReportFiles() throws {
        let folder = try TemporaryFolder()
        var paths: [String] = []
        for algorithm in ["fedd2s", "fedavg"] {
            var spec = FederatedDriverTests.spec
            spec.options["algorithm"] = algorithm
            let report = try FederatedDriverTests.runWithFakes(spec, reversed: false)
            let path = folder.path + "/" + algorithm
            _ = try ReportFiles.write(report, to: path)
            paths.append(path)
        }
        #expect(FileManager.default.fileExists(atPath: paths[0] + "/accuracy.svg"))

        let rows = try [paths[0], paths[1] + "/report.json"].map {
            try CompareCommand.row(try CompareCommand.readReport($0), name: $0)
        }
        #expect(rows.map(\.algorithm) == ["fedd2s", "fedavg"])
        #expect(rows.allSatisfy { $0.dataset == "mnist" })
        #expect(rows.allSatisfy { $0.rounds == 3 })
        #expect(rows.allSatisfy { $0.curve.count == 4 })
        #expect(rows[1].totalBytes > rows[0].totalBytes, "FedAvg sends whole models, FedD2S only logits")

        let text = CompareCommand.table(rows, markdown: false).split(separator: "\n")
        #expect(text.count == 3)
        #expect(text[0].hasPrefix("job"))
        #expect(text[1].contains("fedd2s"))
        let markdown = CompareCommand.table(rows, markdown: true).split(separator: "\n")
        #expect(markdown[0] == "| job | algorithm | dataset | rounds | mean acc | std | worst-10% | bytes | s/round |")
        #expect(markdown[1] == "|---|---|---|---|---|---|---|---|---|")
        #expect(markdown.count == 4)
    }

    @Test func otherKindsAndMissingFilesAreRejected() throws {
        #expect(throws: UsageError.self) { try CompareCommand.readReport("/nonexistent/report.json") }
        let sleep = JobReport(summary: "slept", values: ["tasks": .number(3)])
        #expect(throws: UsageError.self) { try CompareCommand.row(sleep, name: "j1") }
    }

    @Test func argumentsSplitIntoOptionsAndSources() {
        let (options, sources) = CompareCommand.separate([
            "j1", "--svg", "out.svg", "a/report.json", "--markdown", "j3",
        ])
        #expect(options == ["--svg", "out.svg", "--markdown"])
        #expect(sources == ["j1", "a/report.json", "j3"])
    }
}
