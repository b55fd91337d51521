/// A raw byte buffer kept across frames. Fresh multi-MiB allocations page-fault on every use, so framing
/// reuses one buffer per direction and connection, and releases it only after a frame above `retainedBytes`.
///
/// `@unchecked Sendable` because its owner keeps it behind a mutex, and nothing else holds its pointer
/// past the lock.
struct ReusableBuffer: @unchecked Sendable {
    /// Largest capacity kept between frames: 16 MiB, enough for a 4 MiB chunk with room to spare, so that
    /// a connection that once carried a 64 MiB frame does not keep 64 MiB for good.
    static let retainedBytes = 16 << 20

    private(set) var storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    /// Grows the buffer to at least `byteCount` bytes; the contents are not preserved.
    mutating func reserve(_ byteCount: Int) {
        guard storage.count < byteCount else { return }
        storage.deallocate()
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 16)
    }

    /// Grows the buffer to at least `byteCount` bytes, moving the bytes in `kept` to the start.
    mutating func reserve(_ byteCount: Int, keeping kept: Range<Int>) {
        let target =
            storage.count < byteCount
            ? UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 16) : storage
        if !kept.isEmpty, let source = storage.baseAddress, let destination = target.baseAddress {
            // memmove semantics: the ranges overlap when the buffer is compacted in place.
            destination.copyMemory(from: source + kept.lowerBound, byteCount: kept.count)
        }
        if target.baseAddress != storage.baseAddress {
            storage.deallocate()
            storage = target
        }
    }

    /// Frees the buffer when it grew above `retainedBytes`.
    mutating func trim() {
        guard storage.count > ReusableBuffer.retainedBytes else { return }
        deallocate()
    }

    mutating func deallocate() {
        storage.deallocate()
        storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    }
}
