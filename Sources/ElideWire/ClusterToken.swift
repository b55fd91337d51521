import COpenSSL
import Foundation

/// The shared secret that authenticates peers of one cluster.
///
/// The token is text (the launcher writes 64 hex characters); its UTF-8 bytes key HMAC-SHA256. No string
/// this type produces contains the token: `description`, `debugDescription` and `dump` all print a
/// placeholder, and `ClusterTokenError` messages name only paths and variables.
public struct ClusterToken: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Environment variable read first by `load(environment:tokenFile:)`.
    public static let environmentVariable = "ELIDE_CLUSTER_TOKEN"
    /// Shortest token accepted, in characters.
    public static let minimumLength = 16

    private let key: [UInt8]

    /// Creates a token from its text, ignoring surrounding whitespace and newlines.
    ///
    /// - Throws: `ClusterTokenError.tooShort` when fewer than `minimumLength` characters remain;
    ///   `source` names where the text came from in that message.
    public init(text: String, source: String = "the token") throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count >= ClusterToken.minimumLength else {
            throw ClusterTokenError.tooShort(source: source, length: trimmed.utf8.count)
        }
        key = Array(trimmed.utf8)
    }

    /// Generates a new token of 32 random bytes from OpenSSL's CSPRNG, as 64 hex characters.
    ///
    /// Unlike every other random choice in Elide this one takes no seed: a reproducible token would be no secret.
    public static func generate() throws -> ClusterToken {
        var bytes = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else {
            throw ClusterTokenError.randomFailed
        }
        return try ClusterToken(text: bytes.map { String(format: "%02x", $0) }.joined(), source: "a generated token")
    }

    /// Loads the token from the environment variable `ELIDE_CLUSTER_TOKEN` if it is set and not empty,
    /// otherwise from `tokenFile`.
    ///
    /// - Throws: `ClusterTokenError.missing` when neither is given, `.unreadableFile` when the file cannot be
    ///   read (fatal, never a silent fallback), `.tooShort` for a short token.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment, tokenFile: String?
    ) throws -> ClusterToken {
        if let text = environment[environmentVariable], !text.isEmpty {
            return try ClusterToken(text: text, source: "the environment variable \(environmentVariable)")
        }
        guard let tokenFile else {
            throw ClusterTokenError.missing
        }
        return try read(from: tokenFile)
    }

    /// Reads a token file as `write(to:)` writes it.
    public static func read(from path: String) throws -> ClusterToken {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ClusterTokenError.unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw ClusterTokenError.unreadableFile(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            contents += buffer[0..<count]
            // A token is short; a large file is the wrong file.
            guard contents.count <= 64 << 10 else {
                throw ClusterTokenError.unreadableFile(path: path, reason: "the file is larger than 64 KiB")
            }
        }
        guard let text = String(validating: contents, as: UTF8.self) else {
            throw ClusterTokenError.unreadableFile(path: path, reason: "the file is not UTF-8 text")
        }
        return try ClusterToken(text: text, source: "the token file \(path)")
    }

    /// Writes the token to `path` followed by a newline, readable by the owner only (mode 0600), and syncs it.
    /// An existing file is replaced and its mode narrowed to 0600 as well.
    public func write(to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw ClusterTokenError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        guard fchmod(descriptor, 0o600) == 0 else {
            throw ClusterTokenError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        let contents = key + [UInt8(ascii: "\n")]
        var offset = 0
        while offset < contents.count {
            let written = contents[offset...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                throw ClusterTokenError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            offset += written
        }
        guard fsync(descriptor) == 0 else {
            throw ClusterTokenError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }

    // MARK: - Authentication

    /// Computes HMAC-SHA256 keyed with the token over `nonce`, the peer's response to a `Challenge`.
    public func authenticationCode(for nonce: [UInt8]) -> [UInt8] {
        var code = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { keyBytes in
            nonce.withUnsafeBytes { nonceBytes in
                HMAC(
                    EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count),
                    nonceBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), nonceBytes.count, &code, &length)
            }
        }
        // Without an HMAC no peer can authenticate, so a failure here ends the process.
        precondition(result != nil, "OpenSSL HMAC-SHA256 failed")
        return Array(code.prefix(Int(length)))
    }

    /// Checks `code` against the expected HMAC for `nonce` in constant time.
    public func verify(_ code: [UInt8], nonce: [UInt8]) -> Bool {
        let expected = authenticationCode(for: nonce)
        guard code.count == expected.count else { return false }
        return code.withUnsafeBytes { given in
            expected.withUnsafeBytes { wanted in
                CRYPTO_memcmp(given.baseAddress, wanted.baseAddress, wanted.count) == 0
            }
        }
    }

    // MARK: - Redacted descriptions

    public var description: String { "ClusterToken(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// Failures to obtain or store a cluster token. No message contains the token.
public enum ClusterTokenError: Error, Equatable, CustomStringConvertible {
    /// Neither `ELIDE_CLUSTER_TOKEN` nor a token file was given.
    case missing
    case unreadableFile(path: String, reason: String)
    case tooShort(source: String, length: Int)
    case writeFailed(path: String, reason: String)
    case randomFailed

    public var description: String {
        switch self {
        case .missing:
            return "no cluster token: set \(ClusterToken.environmentVariable) or pass --token-file PATH "
                + "(elide cluster up writes one into its state folder)"
        case .unreadableFile(let path, let reason):
            return "cannot read the token file \(path): \(reason); check the path and its permissions"
        case .tooShort(let source, let length):
            return "\(source) has \(length) characters, fewer than the \(ClusterToken.minimumLength) required; "
                + "generate one with `openssl rand -hex 32`"
        case .writeFailed(let path, let reason):
            return "cannot write the token file \(path): \(reason)"
        case .randomFailed:
            return "OpenSSL RAND_bytes failed to generate a cluster token; the system has no entropy source"
        }
    }

}
