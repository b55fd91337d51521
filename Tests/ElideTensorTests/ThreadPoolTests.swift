import Dispatch
import ElideTensor
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Per-chunk counters that chunks running on different threads may bump.
final class ChunkCounters: Sendable {
    let counts: Mutex<[Int]>

    init(_ count: Int) {
        counts = Mutex([Int](repeating: 0, count: count))
    }

    func bump(_ index: Int) {
        counts.withLock { $0[index] += 1 }
    }

    var values: [Int] { counts.withLock { $0 } }
}

@Suite("Thread pool")
struct ThreadPoolTests {
    @Test("Every chunk runs exactly once, 10,000 loops in a row", arguments: [1, 2, 4])
    func repeatedLoops(threads: Int) {
        let pool = ThreadPool(threads: threads)
        #expect(pool.threads == threads)
        let chunks = 7
        let counters = ChunkCounters(chunks)
        let badWorker = ChunkCounters(1)
        for _ in 0..<10_000 {
            pool.parallelForWorkers(chunks) { chunk, worker in
                counters.bump(chunk)
                if worker < 0 || worker >= threads { badWorker.bump(0) }
            }
        }
        #expect(counters.values == [Int](repeating: 10_000, count: chunks))
        #expect(badWorker.values == [0])
    }

    @Test("Zero and one chunk")
    func degenerate() {
        let pool = ThreadPool(threads: 2)
        let counters = ChunkCounters(1)
        pool.parallelFor(0) { _ in counters.bump(0) }
        #expect(counters.values == [0])
        pool.parallelFor(1) { counters.bump($0) }
        #expect(counters.values == [1])
    }

    @Test("A loop started inside a chunk runs inline instead of deadlocking")
    func nestedLoops() {
        let pool = ThreadPool(threads: 2)
        let counters = ChunkCounters(5 * 3)
        for _ in 0..<200 {
            pool.parallelFor(5) { outer in
                pool.parallelFor(3) { inner in counters.bump(outer * 3 + inner) }
            }
        }
        #expect(counters.values == [Int](repeating: 200, count: 15))
    }

    @Test("Several caller threads can share one pool")
    func concurrentCallers() {
        let pool = ThreadPool(threads: 2)
        let counters = ChunkCounters(4 * 6)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for _ in 0..<500 {
                pool.parallelFor(6) { chunk in counters.bump(caller * 6 + chunk) }
            }
        }
        #expect(counters.values == [Int](repeating: 500, count: 24))
    }

    @Test("Workers asleep after a pause still pick up the next loop")
    func wakeAfterSleep() {
        let pool = ThreadPool(threads: 3)
        let counters = ChunkCounters(8)
        for round in 0..<3 {
            pool.parallelFor(8) { counters.bump($0) }
            // Long enough for the workers to stop spinning and block.
            usleep(useconds_t(20_000 * (round + 1)))
        }
        #expect(counters.values == [Int](repeating: 3, count: 8))
    }

    @Test("Scratch is lent to one caller at a time; a nested borrower gets its own buffer")
    func scratch() {
        let pool = ThreadPool(threads: 1)
        pool.withScratch(bytes: 100) { outer in
            outer.storeBytes(of: 7, as: Int.self)
            pool.withScratch(bytes: 100) { inner in
                #expect(inner != outer)
                #expect(Int(bitPattern: inner) % 64 == 0)
            }
            #expect(outer.load(as: Int.self) == 7)
        }
    }
}
