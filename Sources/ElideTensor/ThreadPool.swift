import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fixed set of OS threads that run the chunks of one parallel loop at a time.
///
/// The calling thread takes part in every loop, so a pool of `threads` starts `threads − 1` workers.
/// Between loops the workers spin for a short while (decode issues a few hundred loops per token,
/// back to back) and then sleep on a condition variable. A loop that starts while another one is
/// running on the same pool (a nested call from inside a chunk, or a second caller thread) runs all
/// its chunks on its own thread instead of waiting for the pool, so nesting cannot deadlock.
public final class ThreadPool: @unchecked Sendable {
    /// Threads that run chunks, the caller included.
    public let threads: Int

    private let state: PoolState
    private var workers: [pthread_t] = []
    private let scratch: ScratchArena

    /// The number of online processors.
    public static var defaultThreadCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Starts `threads − 1` worker threads; `threads == 1` runs every loop inline.
    public init(threads: Int) {
        precondition(threads >= 1, "a thread pool needs at least 1 thread, got \(threads)")
        self.threads = threads
        self.state = PoolState()
        self.scratch = ScratchArena()
        for index in 1..<threads {
            let context = Unmanaged.passRetained(WorkerContext(state: state, index: index)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(
                &thread, nil,
                { argument in
                    let context = Unmanaged<WorkerContext>.fromOpaque(argument!).takeRetainedValue()
                    context.state.workerLoop(index: context.index)
                    return nil
                }, context)
            precondition(status == 0, "pthread_create failed with error \(status) while starting worker \(index)")
            workers.append(thread)
        }
    }

    deinit {
        state.stop()
        for thread in workers {
            pthread_join(thread, nil)
        }
    }

    /// Runs `body(chunk)` for every `chunk` in `0..<chunks` on the pool and the calling thread, and
    /// returns when all have finished. Chunks are handed out one at a time in increasing order.
    public func parallelFor(_ chunks: Int, _ body: (Int) -> Void) {
        parallelForWorkers(chunks) { chunk, _ in body(chunk) }
    }

    /// Like `parallelFor`, and also passes the index (in `0..<threads`) of the thread running the
    /// chunk, so a chunk can use per-thread scratch space. Two chunks that run at the same time never
    /// share an index.
    public func parallelForWorkers(_ chunks: Int, _ body: (_ chunk: Int, _ worker: Int) -> Void) {
        if chunks <= 0 { return }
        if threads == 1 || chunks == 1 || !state.tryAcquire() {
            for chunk in 0..<chunks { body(chunk, 0) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            var job = Job(body: escapable)
            withUnsafeMutablePointer(to: &job) { pointer in
                state.run(job: UnsafeMutableRawPointer(pointer), chunks: chunks, workers: threads - 1)
            }
        }
        state.release()
    }

    /// Lends `body` a buffer of at least `bytes` bytes, aligned to 64 bytes.
    ///
    /// The pool keeps one buffer and grows it as needed, so steady-state callers do not allocate. A
    /// caller that finds it lent out (a nested or concurrent caller) gets a temporary buffer.
    public func withScratch<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
        if let pointer = scratch.acquire(bytes: bytes) {
            defer { scratch.release() }
            return try body(pointer)
        }
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
        defer { pointer.deallocate() }
        return try body(pointer)
    }
}

/// The closure of one parallel loop, reached by the workers through a raw pointer.
private struct Job {
    let body: (Int, Int) -> Void
}

/// Runs one chunk of the job at `job`. Kept as a separate, non-inlined function so that any
/// reference the call takes on the closure is dropped before the worker reports completion.
@inline(never)
private func runChunk(_ job: UnsafeMutableRawPointer, _ chunk: Int, _ worker: Int) {
    job.assumingMemoryBound(to: Job.self).pointee.body(chunk, worker)
}

private final class WorkerContext {
    let state: PoolState
    let index: Int

    init(state: PoolState, index: Int) {
        self.state = state
        self.index = index
    }
}

/// 64 bytes of filler.
private typealias CacheLinePadding = (Int, Int, Int, Int, Int, Int, Int, Int)

/// State shared by the caller and the workers of one pool.
///
/// One loop moves as few cache lines between cores as possible: the caller writes the job
/// description and `generation` (one line), every thread claims chunks from `claims` (one line), and
/// each worker bumps `finished` (one line) once. `claims` and `finished` only ever grow, so the caller
/// never has to reset a line that the workers are reading.
private final class PoolState: @unchecked Sendable {
    /// Iterations a worker polls for the next loop before it sleeps. Measured with elide-kernel-bench,
    /// workers fall asleep 100–200 µs after a loop, which covers the single-threaded work between two
    /// decode products.
    static let spinLimit = 100_000

    // Stored properties of a final class are laid out in declaration order.
    private let padding0: CacheLinePadding = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Loop counter, incremented once per loop. A worker runs a loop when the counter passes the last
    /// value it ran.
    let generation = Atomic<Int>(0)
    /// The current loop, written by the caller before it publishes `generation`.
    nonisolated(unsafe) var job: UnsafeMutableRawPointer?
    nonisolated(unsafe) var chunks = 0
    /// The value of `claims` at which the current loop's chunk 0 is handed out.
    nonisolated(unsafe) var firstClaim = 0
    private let padding1: CacheLinePadding = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Total chunk claims made by all threads; each participant makes one extra, failing claim per loop.
    let claims = Atomic<Int>(0)
    private let padding2: CacheLinePadding = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Total loops finished by workers (each worker adds 1 per loop).
    let finished = Atomic<Int>(0)
    private let padding3: CacheLinePadding = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Workers blocked on the condition variable.
    let sleepers = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    /// Set while a loop runs; a second loop that finds it set runs inline.
    let busy = Atomic<Bool>(false)
    /// Caller-side bookkeeping (only touched while `busy` is held).
    nonisolated(unsafe) var expectedFinished = 0

    let mutex: UnsafeMutablePointer<pthread_mutex_t>
    let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    func tryAcquire() -> Bool {
        busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    func release() {
        busy.store(false, ordering: .releasing)
    }

    /// Publishes a loop, takes part in it, and waits until every worker has finished.
    func run(job: UnsafeMutableRawPointer, chunks: Int, workers: Int) {
        self.job = job
        self.chunks = chunks
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        runChunks(worker: 0)
        expectedFinished &+= workers
        var spins = 0
        while finished.load(ordering: .acquiring) != expectedFinished {
            spins += 1
            if spins > 1000 { sched_yield() }
        }
        // Every participant made `1` failing claim after the last chunk.
        firstClaim &+= chunks + workers + 1
        self.job = nil
    }

    private func runChunks(worker: Int) {
        let job = self.job!
        let chunks = self.chunks
        let first = self.firstClaim
        while true {
            let chunk = claims.wrappingAdd(1, ordering: .relaxed).oldValue &- first
            if chunk >= chunks { break }
            runChunk(job, chunk, worker)
        }
    }

    func workerLoop(index: Int) {
        // Generation 0 is the state before the first loop. A worker that starts late must still take
        // part in every loop published since the pool was created.
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                if spins > PoolState.spinLimit {
                    pthread_mutex_lock(mutex)
                    sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    while generation.load(ordering: .sequentiallyConsistent) == seen
                        && !stopping.load(ordering: .sequentiallyConsistent)
                    {
                        pthread_cond_wait(condition, mutex)
                    }
                    sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(mutex)
                    spins = 0
                }
                if stopping.load(ordering: .relaxed) { return }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            runChunks(worker: index)
            finished.wrappingAdd(1, ordering: .releasing)
        }
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopping.store(true, ordering: .sequentiallyConsistent)
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}

/// One growable, 64-byte-aligned buffer that one caller at a time may borrow.
private final class ScratchArena: @unchecked Sendable {
    private let lent = Atomic<Bool>(false)
    nonisolated(unsafe) private var pointer: UnsafeMutableRawPointer?
    nonisolated(unsafe) private var capacity = 0

    func acquire(bytes: Int) -> UnsafeMutableRawPointer? {
        guard lent.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return nil
        }
        if capacity < bytes || pointer == nil {
            pointer?.deallocate()
            capacity = max(bytes, 1)
            pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        }
        return pointer
    }

    func release() {
        lent.store(false, ordering: .releasing)
    }

    deinit {
        pointer?.deallocate()
    }
}
