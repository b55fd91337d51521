import Synchronization
import Testing

@testable import ElideSupport

private final class LineCollector: Sendable {
    let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

@Test func formatsLevelComponentMetadataAndMessage() throws {
    let collector = LineCollector()
    let logger = Logger(label: "coordinator", level: .info, sink: { collector.append($0) })
    logger.info("worker registered", ("worker", "w1"), ("address", "127.0.0.1:9000"))
    let line = try #require(collector.all.first)
    let parts = line.split(separator: " ", maxSplits: 1)
    #expect(parts[0].hasSuffix("Z"))
    #expect(parts[0].count == "2026-12-04T22:10:03.120Z".count)
    #expect(parts[1] == "info coordinator: worker=w1 address=127.0.0.1:9000 worker registered")
}

@Test func dropsEventsBelowThreshold() {
    let collector = LineCollector()
    let logger = Logger(label: "worker", level: .warning, sink: { collector.append($0) })
    logger.info("ignored")
    logger.debug("ignored")
    logger.warning("kept")
    #expect(collector.all.count == 1)
    #expect(collector.all.first?.hasSuffix("warning worker: kept") == true)
}

@Test func quotesValuesWithSpacesAndQuotes() {
    #expect(Logger.quoteIfNeeded("plain") == "plain")
    #expect(Logger.quoteIfNeeded("two words") == "\"two words\"")
    #expect(Logger.quoteIfNeeded("a=\"b\"") == "\"a=\\\"b\\\"\"")
    #expect(Logger.quoteIfNeeded("") == "\"\"")
}

@Test func parsesLevelNames() {
    #expect(Logger.Level(name: "WARNING") == .warning)
    #expect(Logger.Level(name: "verbose") == nil)
}
