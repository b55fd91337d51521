/// A little-endian binary writer for the payloads of federated tasks, which carry float arrays too large for
/// JSON (model parameters, representations, logits). Floats are written bit for bit, so a value decodes to
/// exactly the value that was encoded.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func write(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    public mutating func write(_ value: Int) { write(UInt64(bitPattern: Int64(value))) }

    public mutating func write(_ value: Double) { write(value.bitPattern) }

    public mutating func write(_ value: Float) {
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
    }

    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func write(_ values: [Float]) {
        write(values.count)
        bytes.reserveCapacity(bytes.count + 4 * values.count)
        for value in values { write(value) }
    }

    public mutating func write(_ values: [Int]) {
        write(values.count)
        for value in values { write(value) }
    }

    public mutating func write(bytes values: [UInt8]) {
        write(values.count)
        bytes += values
    }

    public mutating func write(_ text: String) { write(bytes: Array(text.utf8)) }
}

/// Reads what `BinaryWriter` wrote, in the same order. Every read checks the remaining length and throws
/// `BinaryCodingError` naming the field instead of reading past the end.
public struct BinaryReader: Sendable {
    private let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func uint64(_ field: String) throws -> UInt64 {
        try require(8, field)
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << UInt64(8 * index) }
        offset += 8
        return value
    }

    public mutating func int(_ field: String) throws -> Int { Int(Int64(bitPattern: try uint64(field))) }

    /// Reads a count and checks that it is in `0...maximum`.
    public mutating func count(_ field: String, maximum: Int) throws -> Int {
        let value = try int(field)
        guard value >= 0, value <= maximum else {
            throw BinaryCodingError(field: field, offset: offset, reason: "count \(value) is outside 0...\(maximum)")
        }
        return value
    }

    public mutating func double(_ field: String) throws -> Double { Double(bitPattern: try uint64(field)) }

    public mutating func float(_ field: String) throws -> Float {
        try require(4, field)
        var bits: UInt32 = 0
        for index in 0..<4 { bits |= UInt32(bytes[offset + index]) << UInt32(8 * index) }
        offset += 4
        return Float(bitPattern: bits)
    }

    public mutating func bool(_ field: String) throws -> Bool {
        try require(1, field)
        offset += 1
        return bytes[offset - 1] != 0
    }

    public mutating func floats(_ field: String) throws -> [Float] {
        let count = try self.count(field, maximum: (bytes.count - offset) / 4)
        var values = [Float](repeating: 0, count: count)
        for index in 0..<count { values[index] = try float(field) }
        return values
    }

    public mutating func ints(_ field: String) throws -> [Int] {
        let count = try self.count(field, maximum: (bytes.count - offset) / 8)
        var values: [Int] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try int(field)) }
        return values
    }

    public mutating func bytes(_ field: String) throws -> [UInt8] {
        let count = try self.count(field, maximum: bytes.count - offset)
        offset += count
        return Array(bytes[offset - count..<offset])
    }

    public mutating func string(_ field: String) throws -> String {
        String(decoding: try bytes(field), as: UTF8.self)
    }

    /// Throws unless every byte was read, so trailing data from a different build is not silently ignored.
    public func finish(_ what: String) throws {
        guard isAtEnd else {
            throw BinaryCodingError(
                field: what, offset: offset, reason: "\(bytes.count - offset) unread bytes after the last field")
        }
    }

    private func require(_ count: Int, _ field: String) throws {
        guard bytes.count - offset >= count else {
            throw BinaryCodingError(
                field: field, offset: offset, reason: "needs \(count) bytes but \(bytes.count - offset) remain")
        }
    }
}

/// A payload that ended early or held an invalid value.
public struct BinaryCodingError: Error, CustomStringConvertible, Equatable, Sendable {
    public let field: String
    public let offset: Int
    public let reason: String

    public var description: String {
        "cannot decode field '\(field)' at byte \(offset): \(reason); the sender and the receiver may run "
            + "different builds"
    }
}
