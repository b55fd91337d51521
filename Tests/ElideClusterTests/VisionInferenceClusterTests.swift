import Foundation
import Glibc
import Testing

@testable import ElideCluster

/// `elide submit inference --images` against real processes on 127.0.0.1: the report of a vision policy is
/// the same in process (`--local`), on two workers, and after one of them is killed mid-job.
@Suite(.serialized)
struct VisionInferenceClusterTests {
    static var model: String { EvoPressAssets.home + "/models/dinov2-s-focus.onnx" }
    static var images: [String] {
        ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png", "hubble_deep_field.jpg"]
            .map { EvoPressAssets.home + "/images/" + $0 }
    }

    static func requireAssets() throws {
        for path in [model] + images where !FileManager.default.fileExists(atPath: path) {
            throw TestFailure("missing asset \(path); run scripts/fetch-assets (or make assets)")
        }
    }

    /// Reads the report's JSON without its timings, which depend on the machine.
    static func deterministicReport(_ folder: String) throws -> NSDictionary {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/report.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var values = try #require(object["values"] as? [String: Any])
        values["timings"] = nil
        return ["summary": object["summary"] ?? "", "values": values] as NSDictionary
    }

    static func imageResults(_ report: NSDictionary) throws -> [[String: Any]] {
        let values = try #require(report["values"] as? [String: Any])
        return try #require(values["images"] as? [[String: Any]])
    }

    @Test func policiesGiveTheLocalReportOnWorkersAndAfterAKill() throws {
        try Self.requireAssets()
        let cluster = try TestCluster()
        let images = Self.images.joined(separator: ",")
        // EViT at 224 pixels (a 16 × 16 grid) keeps its tasks long enough to kill a worker during one.
        func arguments(_ policy: String) -> [String] {
            let side = policy.hasPrefix("hired") ? "112" : "224"
            return ["submit", "inference", "--images", images, "--vision-policy", policy, "--image-side", side]
        }
        var local: [String: NSDictionary] = [:]
        for policy in ["evit:0.5", "hired:0.2"] {
            let folder = cluster.folder.path + "/local-" + policy
            let (code, output) = try cluster.run("elide", arguments(policy) + ["--local", "--out", folder])
            #expect(code == 0, "\(output)")
            local[policy] = try Self.deterministicReport(folder)
        }
        // The policies do reduce: EViT keeps half the patches at each of three layers, HiRED keeps 20% of
        // the five 8 × 8 views' 320 patch tokens.
        let evit = try Self.imageResults(try #require(local["evit:0.5"]))
        #expect(evit.count == Self.images.count)
        for image in evit {
            let flops = try #require(image["flops"] as? Double)
            let full = try #require(image["full_flops"] as? Double)
            let cosine = try #require(image["cosine_to_full"] as? Double)
            #expect(flops < 0.8 * full)
            #expect(cosine > 0.3)
            #expect(cosine < 1)
        }
        for image in try Self.imageResults(try #require(local["hired:0.2"])) {
            #expect(image["tokens"] as? Double == 64)
        }

        try cluster.startCoordinator()
        try cluster.startWorker("one")
        try cluster.startWorker("two")
        try cluster.waitForWorkers(2)
        let remote = ["--coordinator", cluster.address.description]
        let hiredFolder = cluster.folder.path + "/cluster-hired"
        let (code, output) = try cluster.run(
            "elide", arguments("hired:0.2") + remote + ["--wait", "--out", hiredFolder])
        #expect(code == 0, "\(output)\ncoordinator log:\n\(cluster.log("coordinator"))")
        #expect(try Self.deterministicReport(hiredFolder) == local["hired:0.2"])

        // Kill worker two while it runs an image; the image runs again on worker one.
        let (submitCode, idText) = try cluster.run("elide", arguments("evit:0.5") + remote)
        #expect(submitCode == 0)
        let id = try #require(JobID(parsing: idText.trimmingCharacters(in: .whitespacesAndNewlines)))
        let killed = try cluster.kill("two", job: id, seconds: 120, interval: 5_000) { job, victim in
            (job?.progress.completed ?? 0) >= 1 && (victim?.slotsUsed ?? 0) > 0
        }
        #expect(killed, "worker two never ran an image after the first result")
        let survived = try cluster.waitForJob(id, seconds: 300)
        #expect(survived.state == .succeeded, "\(survived.failure ?? "")")
        #expect(survived.retries >= 1)
        let after = cluster.folder.path + "/cluster-evit"
        _ = try ReportFiles.write(try #require(survived.report), to: after)
        #expect(try Self.deterministicReport(after) == local["evit:0.5"])
    }
}
