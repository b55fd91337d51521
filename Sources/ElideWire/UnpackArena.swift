import CProtobufC

#if canImport(Glibc)
    import Glibc
#endif

/// A bump allocator that protobuf-c's `unpack` draws from, reused across frames.
///
/// Unpacking copies every `bytes` field, so with the system allocator each 4 MiB chunk costs a fresh mapping
/// and its page faults. Here the copies land in memory that stays mapped. Requests that do not fit fall back
/// to `malloc` and are freed individually.
///
/// Not thread-safe. `@unchecked Sendable` because `FramedConnection` keeps its arena behind the receive mutex.
final class UnpackArena: @unchecked Sendable {
    private var region = ReusableBuffer()
    private var used = 0
    /// Stable address for protobuf-c; its `allocator_data` points back at this arena.
    let allocator: UnsafeMutablePointer<ProtobufCAllocator>

    init() {
        allocator = UnsafeMutablePointer<ProtobufCAllocator>.allocate(capacity: 1)
        allocator.initialize(
            to: ProtobufCAllocator(
                alloc: { data, size in
                    // !-safe: allocator_data is set to this arena below and never cleared.
                    Unmanaged<UnpackArena>.fromOpaque(data!).takeUnretainedValue().allocate(size)
                },
                free: { data, pointer in
                    // !-safe: as above.
                    Unmanaged<UnpackArena>.fromOpaque(data!).takeUnretainedValue().release(pointer)
                }, allocator_data: nil))
        allocator.pointee.allocator_data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        region.deallocate()
        allocator.deallocate()
    }

    /// Empties the arena and sizes it for a frame of `frameBytes`: the copied bytes plus room for the structs.
    func prepare(frameBytes: Int) {
        region.trim()
        region.reserve(frameBytes + frameBytes / 2 + 4096)
        used = 0
    }

    private func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        let start = (used + 15) & ~15
        if let base = region.storage.baseAddress, start + max(size, 1) <= region.storage.count {
            used = start + max(size, 1)
            return base + start
        }
        return malloc(max(size, 1))
    }

    private func release(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        if let base = region.storage.baseAddress, pointer >= base, pointer < base + region.storage.count {
            return
        }
        free(pointer)
    }
}
