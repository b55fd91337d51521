import COpenSSL

/// The authentication exchange that opens every connection:
///
/// 1. the coordinator sends `Challenge` (a fresh random nonce and its protocol version);
/// 2. the peer replies with `Hello`: its version, role and HMAC-SHA256(token, nonce);
/// 3. the coordinator checks version and HMAC and replies `Welcome`, or `Error` and closes the connection.
///
/// `acceptPeer` performs the coordinator's part up to the checks. The caller sends `Welcome` itself, because
/// it assigns worker ids. `introduce` performs the peer's part and waits for the reply.
public enum Handshake {
    /// Challenges a newly accepted peer and verifies its `Hello`.
    ///
    /// On a version mismatch or a wrong HMAC it sends an `Error` message, closes the connection and throws,
    /// so the caller only logs the error's description (which never contains the token or the expected HMAC).
    ///
    /// - Parameter timeout: longest wait for the peer's `Hello`.
    /// - Returns: the verified `Hello`; reply with `.welcome(...)` next.
    /// - Throws: `HandshakeError`, or `WireError` when the connection fails.
    public static func acceptPeer(
        on connection: FramedConnection, token: ClusterToken, protocolVersion: UInt32 = WireProtocol.version,
        timeout: Duration = .seconds(10)
    ) throws -> WireMessage.Hello {
        let nonce = try randomNonce()
        let reply: WireMessage
        do {
            try connection.send(.challenge(WireMessage.Challenge(nonce: nonce, protocolVersion: protocolVersion)))
            reply = try connection.receive(timeout: timeout)
        } catch {
            connection.close()
            throw error
        }
        guard case .hello(let hello) = reply else {
            reject(connection, code: .unexpectedMessage, message: "expected hello, received \(reply.name)")
            throw HandshakeError.unexpectedMessage(expected: "hello", received: reply.name)
        }

        guard hello.protocolVersion == protocolVersion else {
            let message =
                "protocol version mismatch: the coordinator speaks version \(protocolVersion), "
                + "the peer speaks version \(hello.protocolVersion); run the same Elide release on every node"
            reject(connection, code: .versionMismatch, message: message)
            throw HandshakeError.versionMismatch(local: protocolVersion, peer: hello.protocolVersion)
        }
        guard token.verify(hello.hmac, nonce: nonce) else {
            reject(connection, code: .authenticationFailed, message: "authentication failed")
            throw HandshakeError.authenticationFailed(peer: connection.peerAddress.description)
        }
        guard hello.role != .unspecified else {
            reject(connection, code: .invalidRequest, message: "hello names no role; expected worker or client")
            throw HandshakeError.invalidHello(reason: "the hello names no role")
        }
        return hello
    }

    /// Sends `hello`, with its HMAC filled in, in response to the coordinator's `Challenge` and waits for `Welcome`.
    ///
    /// - Parameter timeout: longest wait for each of the challenge and the reply.
    /// - Throws: `HandshakeError.versionMismatch` or `.rejected` when the coordinator refuses the peer,
    ///   `.unexpectedMessage`, or `WireError` when the connection fails.
    public static func introduce(
        _ hello: WireMessage.Hello, on connection: FramedConnection, token: ClusterToken,
        timeout: Duration = .seconds(10)
    ) throws -> WireMessage.Welcome {
        let first = try connection.receive(timeout: timeout)
        if case .error(let failure) = first {
            throw HandshakeError.rejected(code: failure.code, message: failure.message)
        }
        guard case .challenge(let challenge) = first else {
            throw HandshakeError.unexpectedMessage(expected: "challenge", received: first.name)
        }

        var signed = hello
        signed.hmac = token.authenticationCode(for: challenge.nonce)
        try connection.send(.hello(signed))

        let reply: WireMessage
        do {
            reply = try connection.receive(timeout: timeout)
        } catch WireError.connectionClosed(let peer) {
            throw HandshakeError.closedByCoordinator(peer: peer)
        }
        switch reply {
        case .welcome(let welcome):
            return welcome
        case .error(let failure) where failure.code == .versionMismatch:
            throw HandshakeError.versionMismatch(local: hello.protocolVersion, peer: challenge.protocolVersion)
        case .error(let failure):
            throw HandshakeError.rejected(code: failure.code, message: failure.message)
        default:
            throw HandshakeError.unexpectedMessage(expected: "welcome", received: reply.name)
        }
    }

    /// Sends an `Error` message if the peer still listens, then closes the connection.
    private static func reject(_ connection: FramedConnection, code: WireMessage.ErrorCode, message: String) {
        try? connection.send(.error(WireMessage.ErrorMessage(code: code, message: message)))
        connection.close()
    }

    static func randomNonce() throws -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: WireProtocol.nonceBytes)
        guard RAND_bytes(&nonce, Int32(nonce.count)) == 1 else {
            throw HandshakeError.randomFailed
        }
        return nonce
    }
}

/// Failure of a handshake. Messages never contain the token or an HMAC.
public enum HandshakeError: Error, Equatable, CustomStringConvertible {
    /// The two sides speak different protocol versions.
    case versionMismatch(local: UInt32, peer: UInt32)
    /// The peer's HMAC does not match, so the peer uses a different cluster token.
    case authenticationFailed(peer: String)
    /// The other side sent a message out of order.
    case unexpectedMessage(expected: String, received: String)
    /// The coordinator sent an `Error` message instead of `Welcome`.
    case rejected(code: WireMessage.ErrorCode, message: String)
    /// The hello is well formed but unusable.
    case invalidHello(reason: String)
    /// The coordinator closed the connection without a reply.
    case closedByCoordinator(peer: String)
    case randomFailed

    public var description: String {
        switch self {
        case .versionMismatch(let local, let peer):
            return "protocol version mismatch: this process speaks version \(local), the peer speaks version \(peer); "
                + "run the same Elide release on every node"
        case .authenticationFailed(let peer):
            return "authentication failed for \(peer): its HMAC does not match this cluster's token; "
                + "give every node the same token (\(ClusterToken.environmentVariable) or --token-file)"
        case .unexpectedMessage(let expected, let received):
            return "handshake expected \(expected) but received \(received)"
        case .rejected(let code, let message):
            return "the coordinator rejected the connection (\(code.rawValue)): \(message)"
        case .invalidHello(let reason):
            return "invalid hello: \(reason)"
        case .closedByCoordinator(let peer):
            return "the coordinator at \(peer) closed the connection during the handshake"
        case .randomFailed:
            return "OpenSSL RAND_bytes failed to generate a handshake nonce"
        }
    }
}
