import Foundation
import Testing

@testable import ElideSearch

@Suite struct SearchScheduleTests {
    @Test func namedSchedulesParse() throws {
        let paper = try SearchSchedule(parsing: "paper")
        #expect(paper.offspringCount == 32)
        #expect(paper.stages == [.init(survivors: 2, tokens: 2048), .init(survivors: 1, tokens: 32_768)])
        #expect(paper.initialCandidateCount == 64)
        #expect(paper.initialTokens == 2048)
        let fast = try SearchSchedule(parsing: "fast")
        #expect(fast.offspringCount == 16)
        #expect(fast.stages == [.init(survivors: 1, tokens: 512), .init(survivors: 1, tokens: 8192)])
        #expect(fast.initialCandidateCount == 16)
        #expect(fast.initialTokens == 512)
    }

    @Test func explicitScheduleParses() throws {
        let schedule = try SearchSchedule(parsing: "offspring=8,stage=4x256,stage=2x1024,stage=1x4096,initial=20x128")
        #expect(schedule.offspringCount == 8)
        #expect(schedule.stages.map(\.survivors) == [4, 2, 1])
        #expect(schedule.stages.map(\.tokens) == [256, 1024, 4096])
        #expect(schedule.initialCandidateCount == 20)
        #expect(schedule.initialTokens == 128)
        #expect(schedule.candidateCounts == [8, 4, 3])

        let defaulted = try SearchSchedule(parsing: "offspring=12,stage=1x300")
        #expect(defaulted.initialCandidateCount == 12)
        #expect(defaulted.initialTokens == 300)
        #expect(defaulted.candidateCounts == [13])
    }

    @Test(arguments: [SearchSchedule.paper, .fast])
    func descriptionParsesBack(schedule: SearchSchedule) throws {
        #expect(try SearchSchedule(parsing: schedule.description) == schedule)
        #expect(try JSONDecoder().decode(SearchSchedule.self, from: JSONEncoder().encode(schedule)) == schedule)
    }

    @Test func tokensPerGenerationMatchesPaper() {
        // 32 offspring on 2,048 tokens, then 2 survivors and the parent on 32,768.
        #expect(SearchSchedule.paper.tokensPerGeneration == 163_840)
        #expect(SearchSchedule.fast.tokensPerGeneration == 16 * 512 + 2 * 8192)
    }

    @Test(arguments: [
        "", "slow", "offspring=16", "stage=1x512", "offspring=0,stage=1x512", "offspring=4,stage=5x512",
        "offspring=4,stage=2x512,stage=3x1024,initial=2x64", "offspring=4,stage=2x0", "offspring=4,stage=2by512",
        "offspring=4,stage=1x512,speed=9", "offspring=4,offspring=5,stage=1x512",
        "offspring=4,stage=1x512,initial=0x64",
        "offspring=4,stage=1x512,", "offspring=4,stage=0x512",
    ])
    func invalidSchedulesAreRejected(text: String) {
        #expect(throws: SearchConfigurationError.self) { try SearchSchedule(parsing: text) }
    }

    @Test func scheduleErrorShowsTextAndExample() {
        do {
            _ = try SearchSchedule(parsing: "offspring=4,stage=2by512")
            Issue.record("malformed stage was accepted")
        } catch {
            let message = String(describing: error)
            #expect(message.contains("2by512"))
            #expect(message.contains("offspring=16,stage=2x2048"))
        }
    }
}
