/// A dense Float32 array with a shape, stored contiguously in row-major order.
public struct Tensor: Sendable, Equatable {
    /// Extent of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// The elements, `shape.reduce(1, *)` of them.
    public var storage: [Float]

    /// Creates a tensor of zeros with `shape`.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "tensor shape \(shape) has a negative dimension")
        self.shape = shape
        self.storage = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// A tensor with `shape` holding `storage`; the counts must agree.
    public init(shape: [Int], storage: [Float]) {
        precondition(
            shape.reduce(1, *) == storage.count,
            "tensor shape \(shape) needs \(shape.reduce(1, *)) elements, got \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// Number of elements.
    public var count: Int { storage.count }

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Returns the same elements with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }

    /// Accesses the element at `indices`, one index per dimension.
    public subscript(_ indices: Int...) -> Float {
        get { storage[offset(indices)] }
        set { storage[offset(indices)] = newValue }
    }

    private func offset(_ indices: [Int]) -> Int {
        precondition(indices.count == shape.count, "\(indices.count) indices for a rank-\(shape.count) tensor")
        var result = 0
        for (index, extent) in zip(indices, shape) {
            precondition(index >= 0 && index < extent, "index \(index) is outside a dimension of \(extent)")
            result = result * extent + index
        }
        return result
    }

    /// Calls `body` with the elements as a read-only pointer.
    public func withUnsafePointer<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// Calls `body` with the elements as a mutable pointer.
    public mutating func withUnsafeMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }
}
