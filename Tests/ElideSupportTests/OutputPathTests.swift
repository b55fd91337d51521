import Foundation
import Testing

@testable import ElideSupport

struct OutputPathTests {
    static func scratchFolder() throws -> String {
        let path = NSTemporaryDirectory() + "elide-output-path-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func fileInMissingFolderIsRejected() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(throws: UsageError.self) { try OutputPath.checkFile(folder + "/nowhere/plot.svg", option: "svg") }
        #expect(throws: UsageError.self) { try OutputPath.checkFile(folder, option: "svg") }
        try OutputPath.checkFile(folder + "/plot.svg", option: "svg")
        try OutputPath.checkFile("plot.svg", option: "svg")
    }

    @Test func folderIsCreatedOrRejected() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let nested = folder + "/a/b"
        try OutputPath.checkFolder(nested, option: "out")
        var isFolder: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: nested, isDirectory: &isFolder))
        #expect(isFolder.boolValue)
        let file = folder + "/summary.txt"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let error = #expect(throws: UsageError.self) { try OutputPath.checkFolder(file, option: "out") }
        #expect(error?.message.contains("it is a file") == true)
    }
}
