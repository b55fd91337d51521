/// An immutable block of Floats with a stable address, for weights that the kernels read through pointers.
final class FloatBuffer: @unchecked Sendable {
    // Sendable because the contents are written once in init and only read afterwards.

    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(values.count, 1))
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress {
                pointer.initialize(from: base, count: source.count)
            }
        }
    }

    deinit {
        pointer.deallocate()
    }

    var base: UnsafePointer<Float> { UnsafePointer(pointer) }
}
