import CProtobufC
import ElideProto

/// Encodes a message and writes it to a connection as one frame.
///
/// A small frame is packed whole into the caller's buffer and written with one call. A frame of
/// `streamingFrameBytes` or more is streamed instead, because protobuf-c's `pack_to_buffer` hands over the
/// encoding piece by piece. Small pieces are gathered in the buffer. Every piece of `directPieceBytes` or more,
/// such as the data of a tensor or artifact chunk, is written from the memory it already lies in (protobuf-c
/// 1.4.1 hands over a `bytes` field's own pointer, not a copy). That saves copying each 4 MiB chunk into a
/// frame buffer: in a `perf` profile of `elide-cluster-bench --tests transfer` on a 2-vCPU VM, that copy took
/// 14 % of the CPU time of a 64 MiB transfer.
enum FrameWriter {
    /// Smallest frame, in bytes, that is streamed rather than packed whole.
    static let streamingFrameBytes = 256 << 10
    /// Smallest piece, in bytes, that is written from where it lies. Smaller pieces are gathered first.
    static let directPieceBytes = 64 << 10

    /// Writes `message` as one frame; returns the frame's size in bytes, length prefix included.
    ///
    /// - Parameters:
    ///   - bulk: replaces the message's large `bytes` field, as in `WireCodec.withEnvelope`.
    ///   - buffer: reused across calls; the caller holds the connection's send lock, so frames stay whole.
    /// - Throws: `WireError.frameTooLarge` before writing anything when the envelope exceeds `maxFrameBytes`,
    ///   and the errors of `TCPConnection.write`, after which the peer may hold part of a frame.
    static func write(
        _ message: WireMessage, bulk: UnsafeRawBufferPointer?, maxFrameBytes: Int, buffer: inout ReusableBuffer,
        to connection: TCPConnection
    ) throws -> Int {
        try WireCodec.withEnvelope(message, bulk: bulk) { envelope in
            let size = elide__v1__envelope__get_packed_size(envelope)
            guard size <= maxFrameBytes else {
                throw WireError.frameTooLarge(
                    peer: connection.peerName, length: size, maximum: maxFrameBytes, outgoing: true)
            }
            let frameBytes = WireProtocol.framePrefixBytes + size
            if frameBytes < streamingFrameBytes {
                buffer.reserve(frameBytes)
                let base = buffer.storage.baseAddress!.assumingMemoryBound(to: UInt8.self)  // !-safe: reserved
                let written = elide__v1__envelope__pack(envelope, base + WireProtocol.framePrefixBytes)
                precondition(written == size, "protobuf-c packed \(written) bytes after promising \(size)")
                FrameHeader.write(length: size, to: base)
                try connection.write(UnsafeRawBufferPointer(rebasing: buffer.storage[0..<frameBytes]))
                return frameBytes
            }

            buffer.reserve(2 * directPieceBytes)
            let sink = FrameSink(connection: connection, staging: buffer.storage)
            var prefix = [UInt8](repeating: 0, count: WireProtocol.framePrefixBytes)
            prefix.withUnsafeMutableBufferPointer { FrameHeader.write(length: size, to: $0.baseAddress!) }  // !-safe
            prefix.withUnsafeBytes { sink.append($0) }
            let written = sink.withProtobufBuffer { elide__v1__envelope__pack_to_buffer(envelope, $0) }
            try sink.finish()
            precondition(written == size, "protobuf-c streamed \(written) bytes after promising \(size)")
            return frameBytes
        }
    }
}

/// The receiving end of `pack_to_buffer`: gathers small pieces in `staging` and writes large ones directly.
///
/// protobuf-c's callback cannot throw, so the first write error is kept, later pieces are dropped, and
/// `finish()` throws it.
private final class FrameSink {
    private let connection: TCPConnection
    private let staging: UnsafeMutableRawBufferPointer
    private var staged = 0
    private var failure: (any Error)?

    /// `staging` must hold at least `FrameWriter.directPieceBytes`, so that any gathered piece fits after a flush.
    init(connection: TCPConnection, staging: UnsafeMutableRawBufferPointer) {
        precondition(staging.count >= FrameWriter.directPieceBytes, "the staging buffer is too small")
        self.connection = connection
        self.staging = staging
    }

    func append(_ piece: UnsafeRawBufferPointer) {
        guard failure == nil, !piece.isEmpty else { return }
        do {
            if piece.count >= FrameWriter.directPieceBytes {
                try flush()
                try connection.write(piece)
                return
            }
            if staged + piece.count > staging.count { try flush() }
            UnsafeMutableRawBufferPointer(rebasing: staging[staged..<(staged + piece.count)]).copyMemory(from: piece)
            staged += piece.count
        } catch {
            failure = error
        }
    }

    /// Writes what is still gathered; throws the first write error of the frame.
    func finish() throws {
        if failure == nil {
            do { try flush() } catch { failure = error }
        }
        if let failure { throw failure }
    }

    private func flush() throws {
        guard staged > 0 else { return }
        try connection.write(UnsafeRawBufferPointer(rebasing: staging[0..<staged]))
        staged = 0
    }

    /// Calls `body` with a `ProtobufCBuffer` whose `append` feeds this sink.
    ///
    /// The C struct has only the function pointer, so the sink's address is stored right behind it, and the
    /// callback finds it there.
    func withProtobufBuffer<R>(_ body: (UnsafeMutablePointer<ProtobufCBuffer>) -> R) -> R {
        let contextOffset = MemoryLayout<ProtobufCBuffer>.stride
        let alignment = max(MemoryLayout<ProtobufCBuffer>.alignment, MemoryLayout<UnsafeMutableRawPointer>.alignment)
        let storage = UnsafeMutableRawPointer.allocate(
            byteCount: contextOffset + MemoryLayout<UnsafeMutableRawPointer>.size, alignment: alignment)
        defer { storage.deallocate() }
        let buffer = storage.initializeMemory(
            as: ProtobufCBuffer.self,
            repeating: ProtobufCBuffer(append: { buffer, length, data in
                let raw = UnsafeMutableRawPointer(buffer!)  // !-safe: protobuf-c passes the buffer it was given
                let context = raw.load(
                    fromByteOffset: MemoryLayout<ProtobufCBuffer>.stride, as: UnsafeMutableRawPointer.self)
                Unmanaged<FrameSink>.fromOpaque(context).takeUnretainedValue()
                    .append(UnsafeRawBufferPointer(start: data, count: length))
            }), count: 1)
        storage.storeBytes(
            of: Unmanaged.passUnretained(self).toOpaque(), toByteOffset: contextOffset, as: UnsafeMutableRawPointer.self
        )
        return withExtendedLifetime(self) { body(buffer) }
    }
}
