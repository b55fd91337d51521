/// A bounds-checked little-endian cursor over the bytes of a GGUF file.
///
/// Every read checks the remaining length first and throws `GGUFError` (never traps), so a damaged
/// file can only produce an error. `what` names the field for the truncation message; it is an
/// autoclosure so that building the text costs nothing on the success path.
struct GGUFByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    /// Absolute offset of the next byte to read.
    private(set) var offset: Int = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - offset }

    // MARK: - Bounds

    /// Throws `.truncated` unless `count` more bytes are available.
    func require(_ count: Int, for what: @autoclosure () -> String) throws {
        guard count <= remaining else {
            throw GGUFError(
                .truncated, path: path, offset: offset,
                problem: "truncated: \(what()) needs \(count) bytes, but only \(remaining) remain "
                    + "(file size \(bytes.count) bytes)")
        }
    }

    /// Converts a count or length read from the file to `Int`, throwing `.countTooLarge` when it exceeds
    /// the number of bytes left: no item takes less than a byte, so such a count is damaged or the file is
    /// truncated. This rejects absurd counts such as 2^62 before anything is allocated for them.
    func checkedCount(_ count: UInt64, at fieldOffset: Int, what: @autoclosure () -> String) throws -> Int {
        guard let result = Int(exactly: count), result <= remaining else {
            throw GGUFError(
                .countTooLarge, path: path, offset: fieldOffset,
                problem: "\(what()) is \(count), more than the \(remaining) bytes left in the file, so the file "
                    + "is truncated or the field is damaged")
        }
        return result
    }

    /// Capacity to reserve for `count` items of at least `minimumByteCount` bytes each: never more than
    /// the rest of the file could hold, so a damaged count cannot cause a huge allocation.
    func reservation(for count: Int, minimumByteCount: Int) -> Int {
        min(count, remaining / minimumByteCount)
    }

    // MARK: - Scalars

    mutating func readUInt8(_ what: @autoclosure () -> String) throws -> UInt8 {
        try require(1, for: what())
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16(_ what: @autoclosure () -> String) throws -> UInt16 {
        try readInteger(UInt16.self, what())
    }

    mutating func readUInt32(_ what: @autoclosure () -> String) throws -> UInt32 {
        try readInteger(UInt32.self, what())
    }

    mutating func readUInt64(_ what: @autoclosure () -> String) throws -> UInt64 {
        try readInteger(UInt64.self, what())
    }

    mutating func readInteger<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try require(MemoryLayout<T>.size, for: what())
        defer { offset += MemoryLayout<T>.size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Reads a GGUF string: a `UInt64` byte length followed by that many UTF-8 bytes (no terminator).
    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let lengthOffset = offset
        let length = try readUInt64("the length of \(what())")
        let count = try checkedCount(length, at: lengthOffset, what: "the length of \(what())")
        let start = offset
        offset += count
        let utf8 = UnsafeRawBufferPointer(rebasing: bytes[start..<start + count]).assumingMemoryBound(to: UInt8.self)
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw GGUFError(
                .invalidUTF8, path: path, offset: start,
                problem: "\(what()) is not valid UTF-8 (\(count) bytes starting \(Self.hexPrefix(utf8)))")
        }
        return string
    }

    // MARK: - Arrays of fixed-size elements

    /// Reads `count` little-endian integers; the caller has already checked the count with `checkedCount`.
    mutating func readIntegers<T: FixedWidthInteger>(
        _ type: T.Type, count: Int, _ what: @autoclosure () -> String
    ) throws -> [T] {
        let size = MemoryLayout<T>.size
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: size)
        try require(overflow ? Int.max : byteCount, for: what())
        let start = offset
        let result = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count {
                buffer[index] = T(littleEndian: bytes.loadUnaligned(fromByteOffset: start + index * size, as: T.self))
            }
            initialized = count
        }
        offset += byteCount
        return result
    }

    /// Rounds `offset` up to the next multiple of `alignment` (a power of two). The result may lie past the
    /// end of the file. Returns nil when it would overflow `Int`.
    static func aligned(_ offset: Int, to alignment: Int) -> Int? {
        let (sum, overflow) = offset.addingReportingOverflow(alignment - 1)
        return overflow ? nil : sum / alignment * alignment
    }

    /// Formats the first 16 bytes of an invalid string in hex, to help find it in a hex dump.
    private static func hexPrefix(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let digits = bytes.prefix(16).map { byte in
            let text = String(byte, radix: 16, uppercase: true)
            return byte < 16 ? "0" + text : text
        }
        return digits.joined(separator: " ") + (bytes.count > 16 ? " …" : "")
    }
}
