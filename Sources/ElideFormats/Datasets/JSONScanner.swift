/// A forward-only reader of JSON text for loaders that know the structure they expect.
///
/// It reads values one at a time instead of building a tree, so a LEAF file with millions of numbers costs
/// little more memory than its pixels. Errors are `DatasetError.invalidJSON` with the byte offset.
struct JSONScanner {
    let bytes: [UInt8]
    let path: String?
    private(set) var offset = 0

    init(bytes: [UInt8], path: String?) {
        self.bytes = bytes
        self.path = path
    }

    func error(_ problem: String, at position: Int? = nil) -> DatasetError {
        DatasetError(.invalidJSON, path: path, location: "byte \(position ?? offset)", problem: problem)
    }

    /// Skips spaces, tabs and line breaks.
    mutating func skipWhitespace() {
        while offset < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[offset]) { offset += 1 }
    }

    /// Returns the next non-blank byte without consuming it, or nil at the end of the text.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return offset < bytes.count ? bytes[offset] : nil
    }

    /// Consumes `character` (after blanks) or throws, naming what the caller was reading.
    mutating func expect(_ character: Character, while context: @autoclosure () -> String) throws {
        let byte = character.asciiValue!
        guard peek() == byte else {
            throw error("expected '\(character)' \(context()), found \(describeNext())")
        }
        offset += 1
    }

    /// Reads the elements of an array, calling `element` for each. The scanner must be before the '['.
    mutating func readArray(_ context: @autoclosure () -> String, element: (inout JSONScanner) throws -> Void) throws {
        try expect("[", while: "at the start of \(context())")
        if peek() == UInt8(ascii: "]") {
            offset += 1
            return
        }
        while true {
            try element(&self)
            if peek() == UInt8(ascii: ",") {
                offset += 1
                continue
            }
            try expect("]", while: "after an element of \(context())")
            return
        }
    }

    /// Reads the members of an object, calling `member` with each key; `member` must consume the value.
    mutating func readObject(_ context: @autoclosure () -> String, member: (inout JSONScanner, String) throws -> Void)
        throws
    {
        try expect("{", while: "at the start of \(context())")
        if peek() == UInt8(ascii: "}") {
            offset += 1
            return
        }
        while true {
            let key = try readString("a key of \(context())")
            try expect(":", while: "after the key \"\(key)\" of \(context())")
            try member(&self, key)
            if peek() == UInt8(ascii: ",") {
                offset += 1
                continue
            }
            try expect("}", while: "after the member \"\(key)\" of \(context())")
            return
        }
    }

    /// Reads a string, decoding its escapes.
    mutating func readString(_ context: @autoclosure () -> String) throws -> String {
        try expect("\"", while: "at the start of \(context()) (a string)")
        var utf8 = [UInt8]()
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try readEscape(into: &utf8)
            default:
                utf8.append(byte)
            }
        }
        throw error("the text ends inside \(context()) (a string)")
    }

    private mutating func readEscape(into utf8: inout [UInt8]) throws {
        guard offset < bytes.count else { throw error("the text ends inside an escape sequence") }
        let byte = bytes[offset]
        offset += 1
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5c, UInt8(ascii: "/"): 0x2f, UInt8(ascii: "b"): 0x08,
            UInt8(ascii: "f"): 0x0c, UInt8(ascii: "n"): 0x0a, UInt8(ascii: "r"): 0x0d, UInt8(ascii: "t"): 0x09,
        ]
        if let decoded = simple[byte] {
            utf8.append(decoded)
            return
        }
        guard byte == UInt8(ascii: "u") else {
            throw error("'\\\(Character(Unicode.Scalar(byte)))' is not a JSON escape", at: offset - 2)
        }
        var value = try readHex4()
        if (0xD800..<0xDC00).contains(value), offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"),
            bytes[offset + 1] == UInt8(ascii: "u")
        {
            offset += 2
            let low = try readHex4()
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        }
        let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
        utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    private mutating func readHex4() throws -> UInt32 {
        guard offset + 4 <= bytes.count,
            let value = UInt32(String(decoding: bytes[offset..<offset + 4], as: UTF8.self), radix: 16)
        else { throw error("expected four hexadecimal digits after '\\u'") }
        offset += 4
        return value
    }

    /// Reads a number. Up to 19 significant digits are kept, which is more than a Float needs.
    mutating func readNumber(_ context: @autoclosure () -> String) throws -> Double {
        skipWhitespace()
        let start = offset
        let negative = offset < bytes.count && bytes[offset] == UInt8(ascii: "-")
        if negative { offset += 1 }

        var decimal = Decimal19()
        let integerDigits = readDigits(into: &decimal, fraction: false)
        var fractionDigits = 0
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            fractionDigits = readDigits(into: &decimal, fraction: true)
        }
        guard integerDigits + fractionDigits > 0 else {
            offset = start
            throw error("expected a number in \(context()), found \(describeNext())")
        }

        if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
            offset += 1
            guard let exponent = readExponent() else {
                throw error("a number in \(context()) has an exponent without digits")
            }
            decimal.exponent += exponent
        }
        let value = decimal.value
        return negative ? -value : value
    }

    /// A decimal number as an integer mantissa of up to 19 digits times a power of ten.
    struct Decimal19 {
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var exponent = 0

        var value: Double {
            var scale = 1.0
            var base = 10.0
            var remaining = abs(exponent)
            while remaining > 0 {
                if remaining & 1 == 1 { scale *= base }
                base *= base
                remaining >>= 1
            }
            // Dividing by 10^k rounds better than multiplying by 10^-k, which is not exact in binary.
            return exponent < 0 ? Double(mantissa) / scale : Double(mantissa) * scale
        }
    }

    /// Reads decimal digits into `decimal` and returns how many there were. Digits beyond the 19th significant
    /// one are dropped, which only changes the integer part's exponent.
    private mutating func readDigits(into decimal: inout Decimal19, fraction: Bool) -> Int {
        var count = 0
        while offset < bytes.count, bytes[offset] >= 0x30, bytes[offset] <= 0x39 {
            let digit = UInt64(bytes[offset] - 0x30)
            if decimal.significantDigits < 19 {
                decimal.mantissa = decimal.mantissa * 10 + digit
                if decimal.mantissa > 0 { decimal.significantDigits += 1 }
                if fraction { decimal.exponent -= 1 }
            } else if !fraction {
                decimal.exponent += 1
            }
            offset += 1
            count += 1
        }
        return count
    }

    /// Reads the signed digits of an exponent after 'e', capped at ±10,000; nil when there are no digits.
    private mutating func readExponent() -> Int? {
        var negative = false
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") {
            negative = bytes[offset] == UInt8(ascii: "-")
            offset += 1
        }
        var decimal = Decimal19()
        guard readDigits(into: &decimal, fraction: false) > 0 else { return nil }
        let magnitude = decimal.exponent > 0 || decimal.mantissa > 10_000 ? 10_000 : Int(decimal.mantissa)
        return negative ? -magnitude : magnitude
    }

    /// Reads an integer; a number with a fraction fails.
    mutating func readInteger(_ context: @autoclosure () -> String) throws -> Int {
        let start = offset
        let value = try readNumber(context())
        guard value == value.rounded(), abs(value) < 9e15 else {
            throw error("expected an integer in \(context()), found \(value)", at: start)
        }
        return Int(value)
    }

    /// Skips one value of any kind.
    mutating func skipValue(_ context: @autoclosure () -> String) throws {
        switch peek() {
        case UInt8(ascii: "{"):
            try readObject(context()) { scanner, key in try scanner.skipValue("\(context()).\(key)") }
        case UInt8(ascii: "["):
            try readArray(context()) { scanner in try scanner.skipValue(context()) }
        case UInt8(ascii: "\""):
            _ = try readString(context())
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            for word in ["true", "false", "null"] where bytes[offset...].starts(with: word.utf8) {
                offset += word.utf8.count
                return
            }
            throw error("unexpected \(describeNext()) in \(context())")
        default:
            _ = try readNumber(context())
        }
    }

    /// Checks that only blanks follow.
    mutating func expectEnd() throws {
        guard peek() == nil else { throw error("unexpected \(describeNext()) after the top-level value") }
    }

    /// Describes the next byte in words, for error messages.
    mutating func describeNext() -> String {
        guard let byte = peek() else { return "the end of the text" }
        if byte >= 0x20 && byte < 0x7f { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16))"
    }
}
