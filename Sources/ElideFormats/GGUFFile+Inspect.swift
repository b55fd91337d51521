import ElideTensor

// MARK: - Human-readable report

extension GGUFFile {
    /// Arrays with more elements than this are summarised as `[49152 strings]` instead of listed.
    static let inlineArrayLimit = 8
    /// Strings longer than this many characters are cut, with their full length in bytes appended.
    static let inlineStringLimit = 60

    /// A plain-text report of the file: a summary line, the metadata table (key, type, value) and the
    /// tensor table (name, type, dimensions, absolute offset, bytes). Long arrays and strings are
    /// summarised so that the report of a real model fits on a few screens.
    public func inspectReport() -> String {
        var lines: [String] = []
        lines.append("GGUF file \(path)")
        lines.append(
            "version \(version), \(fileSize) bytes, alignment \(alignment), data section at byte \(dataOffset)")
        lines.append("\(metadataKeys.count) metadata keys, \(tensors.count) tensors (\(typeCounts()))")

        lines.append("")
        lines.append("METADATA")
        let metadataRows = metadataKeys.map { key -> [String] in
            guard let value = metadata[key] else { return [key, "?", "?"] }
            return [key, Self.typeName(of: value), Self.summary(of: value)]
        }
        lines += Self.table(header: ["key", "type", "value"], rows: metadataRows, rightAligned: [])

        lines.append("")
        lines.append("TENSORS")
        let tensorRows = tensors.map { tensor in
            [
                tensor.name, tensor.type.description, tensor.dimensions.map(String.init).joined(separator: " x "),
                String(tensor.offset), String(tensor.byteCount),
            ]
        }
        lines += Self.table(
            header: ["name", "type", "dimensions", "offset", "bytes"], rows: tensorRows, rightAligned: [3, 4])
        return lines.joined(separator: "\n") + "\n"
    }

    /// `F32 61, Q4_1 210, Q8_0 1`: tensor counts per type, in type-id order.
    private func typeCounts() -> String {
        var counts: [GGMLType: Int] = [:]
        for tensor in tensors {
            counts[tensor.type, default: 0] += 1
        }
        return GGMLType.allCases.compactMap { type in counts[type].map { "\(type) \($0)" } }.joined(separator: ", ")
    }

    private static func typeName(of value: GGUFValue) -> String {
        guard case .array(let array) = value else { return value.type.description }
        return "[\(array.elementType)]"
    }

    /// One-line rendering of a value: strings quoted and escaped, long strings and arrays summarised.
    static func summary(of value: GGUFValue) -> String {
        switch value {
        case .string(let string): return quoted(string)
        case .array(let array): return summary(of: array)
        case .float32(let number): return "\(number)"
        case .float64(let number): return "\(number)"
        case .bool(let flag): return flag ? "true" : "false"
        default: return value.intValue.map(String.init) ?? "\(value)"
        }
    }

    private static func summary(of array: GGUFArray) -> String {
        guard array.count <= inlineArrayLimit else {
            let noun =
                array.elementType == .string
                ? "strings" : array.elementType == .array ? "arrays" : "\(array.elementType)"
            return "[\(array.count) \(noun)]"
        }
        return "[" + array.values.map { summary(of: $0) }.joined(separator: ", ") + "]"
    }

    /// The string in double quotes with quotes, backslashes and control characters escaped, cut after
    /// `inlineStringLimit` characters.
    private static func quoted(_ string: String) -> String {
        var escaped = ""
        for character in string.prefix(inlineStringLimit) {
            switch character {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            default:
                if let code = character.asciiValue, code < 0x20 || code == 0x7F {
                    escaped += "\\u{\(String(code, radix: 16, uppercase: true))}"
                } else {
                    escaped.append(character)
                }
            }
        }
        let cut = string.count > inlineStringLimit ? "… (\(string.utf8.count) bytes)" : ""
        return "\"\(escaped)\"\(cut)"
    }

    /// Left-aligned columns (right-aligned for the indices in `rightAligned`) separated by two spaces.
    private static func table(header: [String], rows: [[String]], rightAligned: Set<Int>) -> [String] {
        let allRows = [header] + rows
        let widths = header.indices.map { column in allRows.map { $0[column].count }.max() ?? 0 }
        return allRows.map { row in
            let cells = row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                if rightAligned.contains(column) { return padding + cell }
                return column == row.count - 1 ? cell : cell + padding
            }
            return "  " + cells.joined(separator: "  ")
        }
    }
}
