import Foundation
import Testing

@testable import ElideCluster

/// `elide submit inference --images` option checks that run before a job reaches the coordinator.
struct VisionInferenceJobTests {
    static func spec(_ options: [String: String]) -> JobSpec {
        JobSpec(kind: "inference", seed: 1, options: options)
    }

    static func folderWithImage() throws -> (folder: String, image: String) {
        let folder = NSTemporaryDirectory() + "elide-vision-job-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let image = folder + "/b.png"
        #expect(FileManager.default.createFile(atPath: image, contents: Data([0x89])))
        #expect(FileManager.default.createFile(atPath: folder + "/a.jpg", contents: Data([0xFF])))
        #expect(FileManager.default.createFile(atPath: folder + "/notes.txt", contents: Data("x".utf8)))
        return (folder, image)
    }

    @Test func folderListsImagesInNameOrder() throws {
        let (folder, _) = try Self.folderWithImage()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let prepared = try InferenceJob.prepare(Self.spec(["images": folder, "vision-policy": "evit:0.5"]))
        let paths = try JSONDecoder().decode(
            [String].self, from: Data(try #require(prepared.options["images-json"]).utf8))
        #expect(paths.map { ($0 as NSString).lastPathComponent } == ["a.jpg", "b.png"])
        let driver = try InferenceJob.makeDriver(prepared)
        #expect(driver is VisionInferenceDriver)
    }

    @Test func badPoliciesAreRejectedWithTheFix() throws {
        let (folder, image) = try Self.folderWithImage()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func message(_ policy: String) -> String {
            do {
                _ = try InferenceJob.prepare(Self.spec(["images": image, "vision-policy": policy]))
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(message("evit:0.5;hired:0.2").contains("an inference job runs one"))
        #expect(message("/no/such/policy.json").contains("does not exist"))
        #expect(message("evitt:0.5").contains("unknown method"))
        #expect(message("hired:0.2") == "accepted")
    }

    @Test func imageSideMustBeAMultipleOf14() throws {
        let (folder, image) = try Self.folderWithImage()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let prepared = try InferenceJob.prepare(Self.spec(["images": image, "image-side": "100"]))
        #expect(throws: JobDriverError.self) { try InferenceJob.makeDriver(prepared) }
    }
}
