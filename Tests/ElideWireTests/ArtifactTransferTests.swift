import Foundation
import Testing

@testable import ElideWire

@Suite struct ArtifactTransferTests {
    @Test func sha256KnownAnswers() {
        #expect(
            SHA256Digest.hex(of: Array("abc".utf8))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Digest.hex(of: []) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Digest.isValid(SHA256Digest.hex(of: [])))
        #expect(!SHA256Digest.isValid("E3B0"))
    }

    @Test func fileRoundTripInChunks() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("model.bin").path
        let bytes = seededBytes(count: 9 << 20, seed: 5)
        #expect(FileManager.default.createFile(atPath: source, contents: Data(bytes)))
        let digest = try SHA256Digest.hex(ofFileAt: source)
        #expect(digest == SHA256Digest.hex(of: bytes))

        let destination = folder.appendingPathComponent("copy.bin").path
        let receiver = try ArtifactReceiver(sha256: digest, destination: destination)
        var chunkSizes: [Int] = []
        var completions: [Bool] = []
        try ArtifactSender.forEachChunk(ofFileAt: source, sha256: digest) { chunk in
            chunkSizes.append(chunk.data.count)
            completions.append(try receiver.add(chunk))
        }
        #expect(chunkSizes == [4 << 20, 4 << 20, 1 << 20])
        #expect(completions == [false, false, true])
        #expect(FileManager.default.contents(atPath: destination) == Data(bytes))
        #expect(!FileManager.default.fileExists(atPath: destination + ".partial"))
    }

    @Test func emptyArtifactRoundTrips() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let chunks = ArtifactSender.chunks(of: [])
        #expect(chunks.count == 1)
        #expect(chunks[0].isLast)
        let destination = folder.appendingPathComponent("empty").path
        let receiver = try ArtifactReceiver(sha256: chunks[0].sha256, destination: destination)
        #expect(try receiver.add(chunks[0]))
        #expect(FileManager.default.contents(atPath: destination) == Data())
    }

    @Test func digestMismatchDiscardsTheCopy() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bytes = seededBytes(count: 10_000, seed: 6)
        let claimed = SHA256Digest.hex(of: Array("something else".utf8))
        let destination = folder.appendingPathComponent("bad").path
        let receiver = try ArtifactReceiver(sha256: claimed, destination: destination)
        let chunks = ArtifactSender.chunks(of: bytes, sha256: claimed, chunkBytes: 4096)
        _ = try receiver.add(chunks[0])
        _ = try receiver.add(chunks[1])
        #expect(throws: ArtifactTransferError.digestMismatch(expected: claimed, actual: SHA256Digest.hex(of: bytes))) {
            try receiver.add(chunks[2])
        }
        #expect(!FileManager.default.fileExists(atPath: destination))
        #expect(!FileManager.default.fileExists(atPath: destination + ".partial"))
    }

    @Test func gapInOffsetsIsRejected() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bytes = seededBytes(count: 10_000, seed: 8)
        let chunks = ArtifactSender.chunks(of: bytes, chunkBytes: 4096)
        let receiver = try ArtifactReceiver(
            sha256: chunks[0].sha256, destination: folder.appendingPathComponent("a").path)
        _ = try receiver.add(chunks[0])
        #expect {
            try receiver.add(chunks[2])
        } throws: { error in
            guard case ArtifactTransferError.invalidChunk(_, let reason) = error else { return false }
            return reason.contains("offset 8192") && reason.contains("offset 4096 was due")
        }
    }

    @Test func wrongLastFlagIsRejected() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var chunks = ArtifactSender.chunks(of: seededBytes(count: 5000, seed: 9), chunkBytes: 4096)
        chunks[0].isLast = true
        let receiver = try ArtifactReceiver(
            sha256: chunks[0].sha256, destination: folder.appendingPathComponent("b").path)
        #expect(throws: ArtifactTransferError.self) { try receiver.add(chunks[0]) }
    }

    @Test func malformedDigestIsRejected() {
        #expect(throws: ArtifactTransferError.self) {
            try ArtifactReceiver(sha256: "not-a-digest", destination: "/tmp/unused")
        }
    }

    @Test func missingSourceFileIsReported() {
        #expect {
            try ArtifactSender.forEachChunk(ofFileAt: "/nonexistent-elide/file", sha256: "x") { _ in }
        } throws: { error in
            guard case ArtifactTransferError.readFailed("/nonexistent-elide/file", _) = error else { return false }
            return true
        }
    }
}
