// The compact binary form of a labelled image set, so a client's shard can travel as one artifact.
//
// Layout, all integers unsigned 32-bit little-endian:
//   0  magic "ELIS"          4  format version (1)
//   8  channels             12  height              16  width
//  20  class count          24  image count (n)
//  28  n × channels × height × width pixel bytes, CHW per image
//      n labels (4 bytes each)

extension LabeledImageSet {
    static let serializedMagic: [UInt8] = Array("ELIS".utf8)
    static let serializedVersion: UInt32 = 1
    static let serializedHeaderSize = 28

    /// Encodes the set in its compact binary form, which `init(serialized:)` reads back.
    public func serialized() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.serializedHeaderSize + pixels.count + 4 * count)
        bytes.append(contentsOf: Self.serializedMagic)
        for field in [Int(Self.serializedVersion), channels, height, width, classCount, count] {
            appendUInt32(UInt32(field), to: &bytes)
        }
        bytes.append(contentsOf: pixels)
        for label in labels { appendUInt32(UInt32(label), to: &bytes) }
        return bytes
    }

    /// Reads the form `serialized()` writes, checking its magic, version, length and labels.
    public init(serialized bytes: [UInt8]) throws {
        let header = Self.serializedHeaderSize
        guard bytes.count >= header else {
            throw DatasetError(
                .truncated, path: nil,
                problem: "serialized image set has \(bytes.count) bytes, fewer than its \(header)-byte header",
                remedy: "Pass the whole output of LabeledImageSet.serialized().")
        }
        guard Array(bytes[0..<4]) == Self.serializedMagic else {
            throw DatasetError(
                .badMagic, path: nil, location: "byte 0",
                problem: "serialized image set starts with \(Array(bytes[0..<4])), expected the magic \"ELIS\"",
                remedy: "Pass bytes written by LabeledImageSet.serialized().")
        }
        let version = readUInt32(bytes, at: 4)
        guard version == Self.serializedVersion else {
            throw DatasetError(
                .invalidValue, path: nil, location: "byte 4",
                problem: "serialized image set has format version \(version), expected \(Self.serializedVersion)",
                remedy: "Serialize the set again with this version of Elide.")
        }
        let channels = Int(readUInt32(bytes, at: 8))
        let height = Int(readUInt32(bytes, at: 12))
        let width = Int(readUInt32(bytes, at: 16))
        let classCount = Int(readUInt32(bytes, at: 20))
        let count = Int(readUInt32(bytes, at: 24))
        let (pixelBytes, overflow) = (channels * height * width).multipliedReportingOverflow(by: count)
        let expected = header + pixelBytes + 4 * count
        guard !overflow, bytes.count == expected else {
            throw DatasetError(
                .truncated, path: nil,
                problem: "serialized image set of \(count) images of \(channels)×\(height)×\(width) needs "
                    + "\(overflow ? "more than Int.max" : String(expected)) bytes, got \(bytes.count)",
                remedy: "Pass the whole output of LabeledImageSet.serialized(), unchanged.")
        }
        let labelStart = header + pixelBytes
        let labels = (0..<count).map { Int(readUInt32(bytes, at: labelStart + 4 * $0)) }
        try self.init(
            channels: channels, height: height, width: width, classCount: classCount,
            pixels: Array(bytes[header..<labelStart]), labels: labels)
    }
}

private func appendUInt32(_ value: UInt32, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}

private func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
        | UInt32(bytes[offset + 3]) << 24
}
