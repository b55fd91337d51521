import Foundation
import Testing

@testable import ElideWire

/// The challenge/hello/welcome exchange over real loopback sockets.
@Suite struct HandshakeTests {
    // try!-safe: both texts are longer than the 16-character minimum.
    static let coordinatorToken = try! ClusterToken(text: "coordinator-token-0123456789abcdef")
    static let otherToken = try! ClusterToken(text: "some-other-token-0123456789abcdef")

    /// Runs the coordinator side on a server thread and returns what it produced after the client side ran.
    private func runHandshake(
        clientToken: ClusterToken, clientVersion: UInt32 = WireProtocol.version
    ) throws -> (server: Result<WireMessage.Hello, HandshakeError>?, client: Result<WireMessage.Welcome, Error>) {
        let serverOutcome = Box<Result<WireMessage.Hello, HandshakeError>?>(nil)
        let pair = try LoopbackPair { connection in
            let framed = FramedConnection(connection)
            do {
                let hello = try Handshake.acceptPeer(on: framed, token: Self.coordinatorToken, timeout: .seconds(10))
                try framed.send(.welcome(WireMessage.Welcome(workerID: "w1", heartbeatInterval: .seconds(1))))
                serverOutcome.value = .success(hello)
            } catch let error as HandshakeError {
                serverOutcome.value = .failure(error)
            } catch {}
        }
        let client = try pair.connect()
        let hello = WireMessage.Hello(protocolVersion: clientVersion, role: .worker, workerName: "node-a", slots: 2)
        let clientOutcome = Result {
            try Handshake.introduce(hello, on: client, token: clientToken, timeout: .seconds(10))
        }
        pair.finish()
        return (serverOutcome.value, clientOutcome)
    }

    @Test func rightTokenIsWelcomed() throws {
        let (server, client) = try runHandshake(clientToken: Self.coordinatorToken)
        let hello = try #require(try server?.get())
        #expect(hello.workerName == "node-a")
        #expect(hello.slots == 2)
        #expect(hello.role == .worker)
        #expect(hello.hmac.count == 32)
        let welcome = try client.get()
        #expect(welcome.workerID == "w1")
        #expect(welcome.heartbeatInterval == .seconds(1))
    }

    @Test func wrongTokenIsRejectedOnBothSides() throws {
        let (server, client) = try runHandshake(clientToken: Self.otherToken)
        #expect {
            try server?.get()
        } throws: { error in
            guard case HandshakeError.authenticationFailed = error else { return false }
            return true
        }
        #expect {
            try client.get()
        } throws: { error in
            error as? HandshakeError == .rejected(code: .authenticationFailed, message: "authentication failed")
        }
    }

    @Test func wrongProtocolVersionNamesBothVersions() throws {
        let peerVersion = WireProtocol.version + 1
        let (server, client) = try runHandshake(clientToken: Self.coordinatorToken, clientVersion: peerVersion)
        #expect(throws: HandshakeError.versionMismatch(local: WireProtocol.version, peer: peerVersion)) {
            try server?.get()
        }
        #expect(throws: HandshakeError.versionMismatch(local: peerVersion, peer: WireProtocol.version)) {
            try client.get()
        }
        let description = HandshakeError.versionMismatch(local: WireProtocol.version, peer: peerVersion).description
        #expect(description.contains("version \(WireProtocol.version)"))
        #expect(description.contains("version \(peerVersion)"))
    }

    @Test func coordinatorClosesAfterRejecting() throws {
        let pair = try LoopbackPair { connection in
            _ = try? Handshake.acceptPeer(on: FramedConnection(connection), token: Self.coordinatorToken)
        }
        defer { pair.finish() }
        let client = try pair.connect()
        guard case .challenge(let challenge) = try client.receive(timeout: .seconds(10)) else {
            Issue.record("the first message is not a challenge")
            return
        }
        #expect(challenge.nonce.count == WireProtocol.nonceBytes)
        try client.send(.hello(WireMessage.Hello(role: .worker, hmac: [UInt8](repeating: 0, count: 32))))
        let reply = try client.receive(timeout: .seconds(10))
        #expect(
            reply == .error(WireMessage.ErrorMessage(code: .authenticationFailed, message: "authentication failed")))
        #expect {
            try client.receive(timeout: .seconds(10))
        } throws: { error in
            guard case WireError.connectionClosed = error else { return false }
            return true
        }
    }

    @Test func peerThatSendsNothingTimesOut() throws {
        let outcome = Box<String?>(nil)
        let pair = try LoopbackPair { connection in
            do {
                _ = try Handshake.acceptPeer(
                    on: FramedConnection(connection), token: Self.coordinatorToken, timeout: .milliseconds(200))
            } catch {
                outcome.value = "\(error)"
            }
        }
        let client = try pair.connect()
        pair.finish()
        #expect(outcome.value?.contains("timed out") == true)
        client.close()
    }

    @Test func noncesDiffer() throws {
        let first = try Handshake.randomNonce()
        let second = try Handshake.randomNonce()
        #expect(first.count == 32)
        #expect(first != second)
    }
}

@Suite struct ClusterTokenTests {
    static let secret = "elide-test-token-0123456789"

    @Test func hmacMatchesKnownAnswer() throws {
        let token = try ClusterToken(text: Self.secret)
        // Computed independently with Python: hmac.new(key, bytes(range(32)), hashlib.sha256).hexdigest()
        let expected = "7ac7813fa280618c4d89f4ece4967eeaa56dd9d7d406e66f0059e91dbafc8b22"
        let code = token.authenticationCode(for: Array(0..<32))
        #expect(SHA256Digest.hex(bytes: code) == expected)
        #expect(token.verify(code, nonce: Array(0..<32)))
    }

    @Test func verifyRejectsAlteredCodes() throws {
        let token = try ClusterToken(text: Self.secret)
        let nonce: [UInt8] = Array(100..<132)
        var code = token.authenticationCode(for: nonce)
        code[31] ^= 1
        #expect(!token.verify(code, nonce: nonce))
        #expect(!token.verify(Array(code.prefix(31)), nonce: nonce))
        #expect(!token.verify([], nonce: nonce))
    }

    @Test func surroundingWhitespaceIsIgnored() throws {
        let plain = try ClusterToken(text: Self.secret)
        let padded = try ClusterToken(text: "  \(Self.secret)\n")
        #expect(plain.authenticationCode(for: [1, 2, 3]) == padded.authenticationCode(for: [1, 2, 3]))
    }

    @Test func shortTokenIsRejected() {
        #expect(throws: ClusterTokenError.tooShort(source: "the token", length: 5)) {
            try ClusterToken(text: "short")
        }
    }

    @Test func generatedTokenIsWrittenOwnerOnly() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("token").path
        let token = try ClusterToken.generate()
        try token.write(to: path)

        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.count == 65)
        #expect(text.hasSuffix("\n"))
        #expect(text.dropLast().allSatisfy { $0.isHexDigit })

        let loaded = try ClusterToken.load(environment: [:], tokenFile: path)
        #expect(loaded.authenticationCode(for: [7]) == token.authenticationCode(for: [7]))
        #expect(try ClusterToken.generate().authenticationCode(for: [7]) != token.authenticationCode(for: [7]))
    }

    @Test func rewritingNarrowsPermissions() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("token").path
        #expect(
            FileManager.default.createFile(
                atPath: path, contents: Data("old".utf8), attributes: [.posixPermissions: 0o644]))
        try ClusterToken(text: Self.secret).write(to: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test func environmentComesBeforeFile() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("token").path
        try ClusterToken(text: "file-token-0123456789abcdef").write(to: path)

        let fromEnvironment = try ClusterToken.load(
            environment: [ClusterToken.environmentVariable: Self.secret], tokenFile: path)
        #expect(
            fromEnvironment.authenticationCode(for: [1])
                == (try ClusterToken(text: Self.secret)).authenticationCode(for: [1]))
        let emptyVariable = try ClusterToken.load(environment: [ClusterToken.environmentVariable: ""], tokenFile: path)
        #expect(
            emptyVariable.authenticationCode(for: [1])
                == (try ClusterToken.read(from: path)).authenticationCode(for: [1]))
    }

    @Test func missingTokenIsAnError() {
        #expect(throws: ClusterTokenError.missing) {
            try ClusterToken.load(environment: [:], tokenFile: nil)
        }
    }

    @Test func unreadableFileIsAnError() {
        let path = "/nonexistent-elide-folder/token"
        #expect {
            try ClusterToken.load(environment: [:], tokenFile: path)
        } throws: { error in
            guard case ClusterTokenError.unreadableFile(path, let reason) = error else { return false }
            return reason.contains("No such file")
        }
    }

    @Test func tokenNeverAppearsInText() throws {
        let token = try ClusterToken(text: Self.secret)
        var dumped = ""
        dump(token, to: &dumped)
        let texts = [
            token.description, token.debugDescription, "\(token)", String(reflecting: token), dumped,
            "\([token])", "\(Optional(token) as Any)",
            ClusterTokenError.tooShort(source: "the environment variable X", length: 3).description,
            HandshakeError.authenticationFailed(peer: "127.0.0.1:1").description,
        ]
        for text in texts {
            #expect(!text.contains(Self.secret), "token leaked into: \(text)")
            #expect(!text.contains("0123456789"), "part of the token leaked into: \(text)")
        }
        #expect(token.description == "ClusterToken(redacted)")
    }

    @Test func handshakeErrorsNeverContainTheTokenOrDigest() throws {
        let token = try ClusterToken(text: Self.secret)
        let serverError = Box<String>("")
        let pair = try LoopbackPair { connection in
            do {
                _ = try Handshake.acceptPeer(on: FramedConnection(connection), token: token)
            } catch {
                serverError.value = "\(error)"
            }
        }
        let client = try pair.connect()
        let wrong = try ClusterToken(text: "wrong-token-abcdefghijklmnop")
        var clientError = ""
        var expectedDigest = ""
        do {
            guard case .challenge(let challenge) = try client.receive(timeout: .seconds(10)) else {
                Issue.record("the first message is not a challenge")
                pair.finish()
                return
            }
            expectedDigest = SHA256Digest.hex(bytes: token.authenticationCode(for: challenge.nonce))
            try client.send(
                .hello(WireMessage.Hello(role: .worker, hmac: wrong.authenticationCode(for: challenge.nonce))))
            let reply = try client.receive(timeout: .seconds(10))
            clientError = "\(reply)"
        } catch {
            clientError = "\(error)"
        }
        pair.finish()
        #expect(serverError.value.contains("authentication failed"))
        for text in [serverError.value, clientError] {
            #expect(!text.contains(Self.secret))
            #expect(!text.contains(expectedDigest))
        }
    }
}
