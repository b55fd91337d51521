import ElideFormats
import ElideSupport
import Foundation
import Testing

@testable import ElideCluster

/// Locates the model and texts that `scripts/fetch-assets` installs; tests that need them fail when missing.
enum EvoPressAssets {
    static var home: String {
        if let home = ProcessInfo.processInfo.environment["ELIDE_HOME"], !home.isEmpty { return home }
        return NSHomeDirectory() + "/.cache/elide"
    }

    static var model: String { home + "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }
    static var texts: String { home + "/text/austen" }

    /// Fails the test with instructions when an asset is missing.
    static func requireAll() throws {
        for path in [model, texts + "/emma.txt", texts + "/pride-and-prejudice.txt"]
        where !FileManager.default.fileExists(atPath: path) {
            throw TestFailure("missing asset \(path); run scripts/fetch-assets (or make assets)")
        }
    }

    /// Report values that depend only on the options and the seed: all but the timings.
    static func deterministicPart(_ report: JobReport) -> JobReport {
        var values = report.values
        values["timings"] = nil
        let summary = report.summary.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("time: ") }.joined(separator: "\n")
        return JobReport(summary: summary, values: values)
    }
}

/// `evopress` jobs run in this process on SmolLM2-135M. They run one at a time, because each uses both cores.
@Suite(.serialized)
struct EvoPressJobTests {
    @Test func evoPressReachesBruteForceOptimum() throws {
        try EvoPressAssets.requireAll()
        // Whole blocks of layers 0..<10, 3 dropped: C(10, 3) = 120 configurations. The pool is two sequences of
        // 64 tokens and every minibatch covers it whole, so all searches score on the same 126 predictions.
        let spec = JobSpec(
            kind: "evopress", seed: 7,
            options: [
                "unit": "block", "drop": "3", "search-layers": "10", "brute-force": "true",
                "sequence-length": "64", "calibration-sequences": "2",
                "schedule": "offspring=8,stage=1x128,initial=8x128", "eval-tokens": "256",
                "random-candidates": "8", "threads": "2",
            ])
        let report = try LocalJobRunner.run(spec)
        guard case .object(let bruteForce)? = report.values["brute_force"],
            case .object(let search)? = report.values["search"]
        else {
            Issue.record("the report lacks brute_force or search: \(report.values.keys.sorted())")
            return
        }
        print("evopress brute force check: \(bruteForce.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })")
        // floor(3 × 7 / 1.5) generations.
        #expect(search["generations"] == .number(14))
        #expect(bruteForce["configurations"] == .number(120))
        #expect(bruteForce["evopress_rank"] == .number(1), "brute force: \(bruteForce)")
        #expect(report.values["plan"] == bruteForce["optimum_plan"])
        guard case .number(let generation)? = bruteForce["found_at_generation"] else {
            Issue.record("EvoPress never held the optimum: \(bruteForce)")
            return
        }
        #expect(generation <= 14)
    }

    @Test func absurdModelFailsDenseCheck() throws {
        try EvoPressAssets.requireAll()
        let folder = try TemporaryFolder()
        // SmolLM2 with a zero final norm: every logit is 0, so the perplexity is the vocabulary size, 49,152.
        let original = try GGUFFile(path: EvoPressAssets.model)
        var writer = GGUFWriter()
        for key in original.metadataKeys {
            writer.setMetadata(key, original.metadata[key]!)  // !-safe: every key in metadataKeys has a value
        }
        for tensor in original.tensors {
            let bytes = [UInt8](original.data(for: tensor))
            let written = tensor.name == "output_norm.weight" ? [UInt8](repeating: 0, count: bytes.count) : bytes
            try writer.addTensor(name: tensor.name, dimensions: tensor.dimensions, type: tensor.type, bytes: written)
        }
        let model = folder.path + "/uniform.gguf"
        try writer.write(to: model)
        // A short calibration text keeps the tokenization quick.
        let calibration = folder.path + "/calibration.txt"
        let emma = try String(contentsOfFile: EvoPressAssets.texts + "/emma.txt", encoding: .utf8)
        try String(emma.prefix(20_000)).write(toFile: calibration, atomically: true, encoding: .utf8)

        let spec = JobSpec(
            kind: "evopress", seed: 1,
            options: [
                "model": model, "calibration": calibration, "sequence-length": "64", "eval-tokens": "128",
                "threads": "2",
            ])
        do {
            _ = try LocalJobRunner.run(spec)
            Issue.record("the job succeeded on a model whose perplexity is the vocabulary size")
        } catch let failure as LocalJobRunner.Failure {
            #expect(failure.state == .failed)
            #expect(failure.message.contains("dense model check failed"), "\(failure.message)")
            #expect(failure.message.contains(model), "\(failure.message)")
            #expect(failure.message.contains("gpt2/smollm"), "\(failure.message)")
            #expect(failure.message.contains("pride-and-prejudice.txt"), "\(failure.message)")
            #expect(failure.message.contains("perplexity is 4915"), "\(failure.message)")
        }
    }
}
