import CProtobufC
import ElideProto

/// Converts `WireMessage` values to protobuf `Envelope` bytes and back, through the protoc-c code in ElideProto.
public enum WireCodec {
    /// Encodes `message` as the bytes of one `Envelope`, without a length prefix.
    public static func encode(_ message: WireMessage) -> [UInt8] {
        encode(message, prefixBytes: 0)
    }

    /// Encodes `message` as a complete frame: a 4-byte big-endian length followed by the `Envelope`.
    public static func encodeFrame(_ message: WireMessage) -> [UInt8] {
        encode(message, prefixBytes: WireProtocol.framePrefixBytes)
    }

    /// Decodes the bytes of one `Envelope` (no length prefix).
    ///
    /// - Throws: `WireError.decodeFailed` when the bytes are not a valid envelope, `WireError.invalidMessage`
    ///   when the envelope has no body or a body this version does not know.
    public static func decode(_ bytes: [UInt8]) throws -> WireMessage {
        try bytes.withUnsafeBytes { try decode($0, peer: "memory", arena: nil) }
    }

    /// Decodes the bytes of one `Envelope`; `peer` names the source in errors.
    public static func decode(_ buffer: UnsafeRawBufferPointer, peer: String) throws -> WireMessage {
        try decode(buffer, peer: peer, arena: nil)
    }

    /// Decodes with protobuf-c's intermediate copies placed in `arena` (the system allocator when nil).
    static func decode(_ buffer: UnsafeRawBufferPointer, peer: String, arena: UnpackArena?) throws -> WireMessage {
        try withUnpackedEnvelope(buffer, peer: peer, arena: arena) { try message(from: $0.pointee) }
    }

    /// Unpacks `buffer` and calls `body` with the protobuf-c tree, which is freed when `body` returns.
    static func withUnpackedEnvelope<R>(
        _ buffer: UnsafeRawBufferPointer, peer: String, arena: UnpackArena?,
        _ body: (UnsafePointer<Elide__V1__Envelope>) throws -> R
    ) throws -> R {
        let data = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
        arena?.prepare(frameBytes: buffer.count)
        let allocator = arena?.allocator
        guard let envelope = elide__v1__envelope__unpack(allocator, buffer.count, data) else {
            throw WireError.decodeFailed(peer: peer, length: buffer.count)
        }
        defer { elide__v1__envelope__free_unpacked(envelope, allocator) }
        return try body(envelope)
    }

    // MARK: - Packing

    /// Builds the protobuf-c tree of `message` and calls `body` with it. The tree lives until `body` returns.
    ///
    /// - Parameter bulk: bytes to use for the message's large `bytes` field instead of its own (see
    ///   `bulkBytes(of:)`), so a tensor slice can be packed without first copying it into an array.
    static func withEnvelope<R>(
        _ message: WireMessage, bulk: UnsafeRawBufferPointer? = nil,
        _ body: (UnsafePointer<Elide__V1__Envelope>) throws -> R
    ) rethrows -> R {
        let arena = CArena()
        let ownBulk = bulk == nil ? bulkBytes(of: message) : []
        return try ownBulk.withUnsafeBytes { ownBuffer in
            var envelope = Elide__V1__Envelope()
            elide__v1__envelope__init(&envelope)
            fillEnvelope(&envelope, with: message, arena: arena, bulk: bulk ?? ownBuffer)
            return try withUnsafePointer(to: &envelope) { try body($0) }
        }
    }

    private static func encode(_ message: WireMessage, prefixBytes: Int) -> [UInt8] {
        withEnvelope(message) { envelope in
            let size = elide__v1__envelope__get_packed_size(envelope)
            return [UInt8](unsafeUninitializedCapacity: prefixBytes + size) { buffer, initializedCount in
                let base = buffer.baseAddress!  // !-safe: every envelope with a body packs to 2 bytes or more
                let written = elide__v1__envelope__pack(envelope, base + prefixBytes)
                precondition(written == size, "protobuf-c packed \(written) bytes after promising \(size)")
                if prefixBytes == WireProtocol.framePrefixBytes {
                    FrameHeader.write(length: size, to: base)
                }
                initializedCount = prefixBytes + size
            }
        }
    }
}

/// The 4-byte big-endian length prefix of a frame.
enum FrameHeader {
    static func write(length: Int, to pointer: UnsafeMutablePointer<UInt8>) {
        let value = UInt32(truncatingIfNeeded: length)
        pointer[0] = UInt8(truncatingIfNeeded: value >> 24)
        pointer[1] = UInt8(truncatingIfNeeded: value >> 16)
        pointer[2] = UInt8(truncatingIfNeeded: value >> 8)
        pointer[3] = UInt8(truncatingIfNeeded: value)
    }

    static func read(_ bytes: UnsafeRawBufferPointer) -> Int {
        Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
    }
}
