import Testing

@testable import ElideSupport

@Test func sameSeedSameSequence() {
    var a = SeededGenerator(seed: 42)
    var b = SeededGenerator(seed: 42)
    let first = (0..<100).map { _ in a.next() }
    let second = (0..<100).map { _ in b.next() }
    #expect(first == second)
    var c = SeededGenerator(seed: 43)
    #expect((0..<100).map { _ in c.next() } != first)
}

@Test func splitStreamsDifferAndIgnoreConsumption() {
    let base = SeededGenerator(seed: 7)
    var consumed = base
    _ = consumed.next()
    var streamA = base.split(1)
    var streamB = base.split(2)
    #expect(streamA.next() != streamB.next())
    var again = SeededGenerator(seed: 7).split(1)
    var fresh = base.split(1)
    #expect(again.next() == fresh.next())
}

@Test func unitFloatsAreInRangeAndSpread() {
    var generator = SeededGenerator(seed: 3)
    var buckets = [Int](repeating: 0, count: 10)
    for _ in 0..<10_000 {
        let value = generator.nextUnitFloat()
        #expect(value >= 0 && value < 1)
        buckets[Int(value * 10)] += 1
    }
    // Each bucket expects 1000; 800..1200 is more than six standard deviations wide.
    for count in buckets { #expect(count > 800 && count < 1200) }
}
