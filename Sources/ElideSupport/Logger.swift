import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A structured logger shaped like swift-log's `Logger`: a label (the component), a level threshold,
/// and `key=value` metadata. Each event is one line on stderr:
/// `2026-12-04T22:10:03.120Z info coordinator: worker=w1 slots=2 worker registered`.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
        case trace, debug, info, notice, warning, error, critical

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        public var description: String {
            switch self {
            case .trace: return "trace"
            case .debug: return "debug"
            case .info: return "info"
            case .notice: return "notice"
            case .warning: return "warning"
            case .error: return "error"
            case .critical: return "critical"
            }
        }

        /// Parses a level name as `description` prints it; returns nil for anything else.
        public init?(name: String) {
            guard let level = Level.allCases.first(where: { $0.description == name.lowercased() }) else {
                return nil
            }
            self = level
        }
    }

    /// Destination of formatted lines; tests swap it to capture output.
    public typealias Sink = @Sendable (String) -> Void

    public let label: String
    public var logLevel: Level
    private let sink: Sink

    /// Creates a logger for `label`. The threshold defaults to `ELIDE_LOG_LEVEL` or `info`.
    public init(label: String, level: Level? = nil, sink: Sink? = nil) {
        self.label = label
        let environmentLevel = ProcessInfo.processInfo.environment["ELIDE_LOG_LEVEL"].flatMap(Level.init(name:))
        self.logLevel = level ?? environmentLevel ?? .info
        self.sink = sink ?? Logger.standardError
    }

    public func log(_ level: Level, _ message: @autoclosure () -> String, metadata: [(String, String)] = []) {
        guard level >= logLevel else { return }
        sink(Logger.format(level: level, label: label, message: message(), metadata: metadata))
    }

    public func trace(_ message: @autoclosure () -> String, _ metadata: (String, String)...) {
        log(.trace, message(), metadata: metadata)
    }

    public func debug(_ message: @autoclosure () -> String, _ metadata: (String, String)...) {
        log(.debug, message(), metadata: metadata)
    }

    public func info(_ message: @autoclosure () -> String, _ metadata: (String, String)...) {
        log(.info, message(), metadata: metadata)
    }

    public func notice(_ message: @autoclosure () -> String, _ metadata: (String, String)...) {
        log(.notice, message(), metadata: metadata)
    }

    public func warning(_ message: @autoclosure () -> String, _ metadata: (String, String)...) {
        log(.warning, message(), metadata: metadata)
    }

    public func error(_ message: @autoclosure () -> String, _ metadata: (String, String)...) {
        log(.error, message(), metadata: metadata)
    }

    /// Formats one event. Values containing spaces, quotes or `=` are quoted so lines stay parseable.
    public static func format(level: Level, label: String, message: String, metadata: [(String, String)]) -> String {
        var line = timestamp() + " " + level.description + " " + label + ":"
        for (key, value) in metadata {
            line += " " + key + "=" + quoteIfNeeded(value)
        }
        if !message.isEmpty {
            line += " " + message
        }
        return line
    }

    static func quoteIfNeeded(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" }
        guard needsQuotes else { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"" + escaped + "\""
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = time_t(now.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(now.tv_nsec) / 1_000_000
        let year = Int(parts.tm_year) + 1900
        let month = Int(parts.tm_mon) + 1
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, month, Int(parts.tm_mday), Int(parts.tm_hour),
            Int(parts.tm_min), Int(parts.tm_sec), millis)
    }

    @Sendable static func standardError(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }
}
