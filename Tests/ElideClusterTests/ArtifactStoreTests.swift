import Foundation
import Testing

@testable import ElideCluster

struct ArtifactStoreTests {
    @Test func storesByContentAddress() throws {
        let folder = try TemporaryFolder()
        let store = try ArtifactStore(root: folder.path)
        let digest = try store.put(Array("abc".utf8))
        // The sha256 of "abc" from FIPS 180-2, appendix B.1.
        #expect(digest.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(store.contains(digest))
        #expect(store.digests() == [digest])
        #expect(try store.read(digest, offset: 1, maxLength: 10).bytes == Array("bc".utf8))
        #expect(try store.put(Array("abc".utf8)) == digest)
        #expect(store.digests().count == 1)
    }

    @Test func chunkedIngestVerifiesDigest() throws {
        let folder = try TemporaryFolder()
        let store = try ArtifactStore(root: folder.path)
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let source = try ArtifactStore(root: folder.path + "/source")
        let digest = try source.put(data)

        let ingest = try store.beginIngest(expected: digest)
        var offset = 0
        while offset < data.count {
            let chunk = try source.read(digest, offset: offset, maxLength: 30_000).bytes
            try ingest.append(chunk)
            offset += chunk.count
        }
        try ingest.finish()
        #expect(try store.read(digest, offset: 0, maxLength: data.count).bytes == data)
    }

    @Test func corruptedIngestIsDiscarded() throws {
        let folder = try TemporaryFolder()
        let store = try ArtifactStore(root: folder.path)
        let expected = try #require(ArtifactDigest(hex: String(repeating: "0", count: 64)))
        let ingest = try store.beginIngest(expected: expected)
        try ingest.append([1, 2, 3])
        #expect(throws: ArtifactStoreError.self) { try ingest.finish() }
        #expect(!store.contains(expected))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path + "/sha256")
        #expect(leftovers.isEmpty)
    }

    @Test func importedFileMatchesPut() throws {
        let folder = try TemporaryFolder()
        let store = try ArtifactStore(root: folder.path + "/store")
        let file = folder.path + "/input.bin"
        let data = Data((0..<5000).map { UInt8($0 % 251) })
        try data.write(to: URL(fileURLWithPath: file))
        let imported = try store.importFile(at: file)
        #expect(imported == (try store.put([UInt8](data))))
        #expect(try store.size(of: imported) == 5000)
    }
}
