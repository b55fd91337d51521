import ElideSupport
import Foundation
import Synchronization

@testable import ElideWire

/// A value set by a peer thread and read by the test after `join()`.
final class Box<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    init(_ value: Value) {
        storage = Mutex(value)
    }

    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

/// A loopback listener whose first accepted connection is handed to `serve` on its own OS thread.
/// Tests block only on OS threads, never in tasks, so the cooperative pool never stalls.
struct LoopbackPair {
    let listener: TCPListener
    let server: OSThread

    init(host: String = "127.0.0.1", serve: @escaping @Sendable (TCPConnection) -> Void) throws {
        let listener = try TCPListener(host: host, port: 0)
        self.listener = listener
        server = OSThread.start(name: "test-server") {
            guard let connection = try? listener.accept(timeout: .seconds(10)) else { return }
            serve(connection)
        }
    }

    func connect(settings: FramedConnection.Settings = .init()) throws -> FramedConnection {
        try FramedConnection(TCPConnection.connect(to: listener.address, timeout: .seconds(5)), settings: settings)
    }

    func finish() {
        server.join()
        listener.close()
    }
}

/// Deterministic bytes from `seed`; `alphabet` limits the values so that zstd finds redundancy.
func seededBytes(count: Int, seed: UInt64, alphabet: Int = 256) -> [UInt8] {
    var generator = SeededGenerator(seed: seed)
    var bytes = [UInt8](repeating: 0, count: count)
    var index = 0
    while index < count {
        var word = generator.next()
        for _ in 0..<8 where index < count {
            bytes[index] = UInt8(truncatingIfNeeded: Int(word & 0xFF) % alphabet)
            word >>= 8
            index += 1
        }
    }
    return bytes
}

/// Returns the root of the repository, found from this file's path (Tests/ElideWireTests/TestSupport.swift).
func repositoryRoot(filePath: String = #filePath) -> URL {
    URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}

/// Creates a fresh temporary folder; the caller removes it.
func makeTemporaryFolder() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("elide-wire-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}
