import CProtobufC

#if canImport(Glibc)
    import Glibc
#endif

/// Owns the C memory of a protobuf-c message tree while it is packed, and frees it all at once.
///
/// Small pieces (structs, strings, pointer arrays) are carved from 4 KiB blocks, so encoding a small message
/// costs one `malloc` instead of one per field. Pieces above 1 KiB get their own allocation. Every block and
/// large piece starts with a link to the previous one, and `deinit` walks that list to free them.
final class CArena {
    private static let blockBytes = 4096
    private static let largeBytes = 1024
    /// Room for the link to the previous allocation, kept 16-byte aligned.
    private static let headerBytes = 16

    /// The newest allocation (block or large piece); its first word points at the one before.
    private var newest: UnsafeMutableRawPointer?
    private var block: UnsafeMutableRawPointer?
    private var used = 0

    deinit {
        var current = newest
        while let allocation = current {
            current = allocation.load(as: UnsafeMutableRawPointer?.self)
            free(allocation)
        }
    }

    private func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        let size = max(byteCount, 1)
        let start = (used + 15) & ~15
        if let block, start + size <= CArena.blockBytes - CArena.headerBytes {
            used = start + size
            return block + start
        }
        if size > CArena.largeBytes {
            return linkedAllocation(payloadBytes: size)
        }
        let fresh = linkedAllocation(payloadBytes: CArena.blockBytes - CArena.headerBytes)
        block = fresh
        used = size
        return fresh
    }

    /// Allocates `payloadBytes` behind a link header and returns the payload's address.
    private func linkedAllocation(payloadBytes: Int) -> UnsafeMutableRawPointer {
        guard let memory = malloc(CArena.headerBytes + payloadBytes) else {
            fatalError("CArena: malloc of \(payloadBytes) bytes failed while encoding a message")
        }
        memory.storeBytes(of: newest, as: UnsafeMutableRawPointer?.self)
        newest = memory
        return memory + CArena.headerBytes
    }

    /// Copies `value` into the arena and returns a pointer to the copy.
    func pointer<T>(to value: T) -> UnsafeMutablePointer<T> {
        let memory = allocate(byteCount: MemoryLayout<T>.stride)
        let typed = memory.bindMemory(to: T.self, capacity: 1)
        typed.initialize(to: value)
        return typed
    }

    /// Copies `string` as a NUL-terminated UTF-8 C string. An embedded NUL ends the C string early.
    func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        var string = string
        return string.withUTF8 { utf8 in
            let memory = allocate(byteCount: utf8.count + 1)
            if let source = utf8.baseAddress {
                memory.copyMemory(from: source, byteCount: utf8.count)
            }
            memory.storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
            return memory.bindMemory(to: CChar.self, capacity: utf8.count + 1)
        }
    }

    /// Copies `bytes` into a protobuf-c `bytes` field.
    func binary(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        guard !bytes.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let memory = allocate(byteCount: bytes.count)
        bytes.withUnsafeBytes { source in
            memory.copyMemory(from: source.baseAddress!, byteCount: bytes.count)  // !-safe: bytes is not empty
        }
        return ProtobufCBinaryData(len: bytes.count, data: memory.assumingMemoryBound(to: UInt8.self))
    }

    /// Points a protobuf-c `bytes` field at memory the caller keeps alive until packing ends; no copy.
    func binary(borrowing bytes: UnsafeRawBufferPointer) -> ProtobufCBinaryData {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return ProtobufCBinaryData(len: 0, data: nil) }
        // pack only reads from the field, so dropping const is safe.
        return ProtobufCBinaryData(
            len: bytes.count, data: UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self)))
    }

    /// Copies `strings` into a `repeated string` field; returns nil for an empty list.
    func cStringArray(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard !strings.isEmpty else { return nil }
        let array = allocate(byteCount: MemoryLayout<UnsafeMutablePointer<CChar>?>.stride * strings.count)
            .bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: strings.count)
        for (index, string) in strings.enumerated() {
            array[index] = cString(string)
        }
        return array
    }

    /// Copies each message of a `repeated` message field into the arena; returns nil for an empty list.
    func pointerArray<T>(_ values: [T]) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?>? {
        guard !values.isEmpty else { return nil }
        let array = allocate(byteCount: MemoryLayout<UnsafeMutablePointer<T>?>.stride * values.count)
            .bindMemory(to: UnsafeMutablePointer<T>?.self, capacity: values.count)
        for (index, value) in values.enumerated() {
            array[index] = pointer(to: value)
        }
        return array
    }

    /// Copies `values` into a `repeated int64` field; returns nil for an empty list.
    func int64Array(_ values: [Int]) -> UnsafeMutablePointer<Int64>? {
        guard !values.isEmpty else { return nil }
        let array = allocate(byteCount: MemoryLayout<Int64>.stride * values.count)
            .bindMemory(to: Int64.self, capacity: values.count)
        for (index, value) in values.enumerated() {
            array[index] = Int64(value)
        }
        return array
    }
}
