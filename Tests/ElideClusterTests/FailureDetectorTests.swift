import Testing

@testable import ElideCluster

struct FailureDetectorTests {
    let worker = WorkerID(7)

    @Test func silentWorkerTurnsSuspectThenDead() {
        var clock = FakeClock()
        var detector = FailureDetector()
        detector.register(worker, now: clock.now)

        clock.advance(.milliseconds(2_999))
        #expect(detector.evaluate(now: clock.now).isEmpty)

        clock.advance(.milliseconds(1))
        let suspect = detector.evaluate(now: clock.now)
        #expect(suspect.map(\.health) == [.suspect])
        #expect(detector.evaluate(now: clock.now).isEmpty)

        clock.advance(.seconds(7))
        let dead = detector.evaluate(now: clock.now)
        #expect(dead.map(\.worker) == [worker])
        #expect(dead.map(\.health) == [.dead])
    }

    @Test func heartbeatRecoversSuspect() {
        var clock = FakeClock()
        var detector = FailureDetector()
        detector.register(worker, now: clock.now)
        clock.advance(.seconds(4))
        _ = detector.evaluate(now: clock.now)
        #expect(detector.health(of: worker) == .suspect)

        #expect(detector.heartbeat(worker, now: clock.now) == .alive)
        clock.advance(.seconds(8))
        #expect(detector.evaluate(now: clock.now).map(\.health) == [.suspect])
    }

    @Test func regularHeartbeatsKeepWorkerAlive() {
        var clock = FakeClock()
        var detector = FailureDetector()
        detector.register(worker, now: clock.now)
        for _ in 0..<100 {
            clock.advance(.seconds(1))
            detector.heartbeat(worker, now: clock.now)
            #expect(detector.evaluate(now: clock.now).isEmpty)
        }
        #expect(detector.health(of: worker) == .alive)
    }

    @Test func deadWorkerStaysDead() {
        var clock = FakeClock()
        var detector = FailureDetector(
            settings: FailureDetectorSettings(heartbeatInterval: .milliseconds(100), deadTimeout: .seconds(1)))
        detector.register(worker, now: clock.now)
        clock.advance(.seconds(2))
        #expect(detector.evaluate(now: clock.now).map(\.health) == [.dead])
        #expect(detector.heartbeat(worker, now: clock.now) == nil)
        #expect(detector.health(of: worker) == .dead)
        #expect(detector.evaluate(now: clock.now).isEmpty)
    }

    @Test func customTimeoutIsHonoured() {
        var clock = FakeClock()
        var detector = FailureDetector(
            settings: FailureDetectorSettings(heartbeatInterval: .milliseconds(200), deadTimeout: .seconds(2)))
        detector.register(worker, now: clock.now)
        clock.advance(.milliseconds(600))
        #expect(detector.evaluate(now: clock.now).map(\.health) == [.suspect])
        clock.advance(.milliseconds(1_400))
        #expect(detector.evaluate(now: clock.now).map(\.health) == [.dead])
    }
}
