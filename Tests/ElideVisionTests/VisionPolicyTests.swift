import ElideEngine
import Foundation
import Testing

@Suite struct VisionPolicyTests {
    @Test func specShortFormSetsMainField() throws {
        #expect(try VisionPolicy.parse(spec: "evit:0.5") == .evit(TokenReductionSettings(keepRate: 0.5)))
        #expect(try VisionPolicy.parse(spec: "top-k:0.3") == .topK(TokenReductionSettings(keepRate: 0.3)))
        #expect(try VisionPolicy.parse(spec: "hired:0.2") == .hired(HiREDSettings(budget: 0.2)))
        #expect(try VisionPolicy.parse(spec: "none") == .none)
    }

    @Test func specKeyValueForm() throws {
        let policy = try VisionPolicy.parse(spec: "clca:keep_rate=0.1,reduction_layers=2/5/8")
        #expect(policy == .clca(TokenReductionSettings(keepRate: 0.1, reductionLayers: [2, 5, 8])))
        let random = try VisionPolicy.parse(spec: "random:budget=0.4,seed=7,alpha=0.25")
        #expect(random == .hired(HiREDSettings(budget: 0.4, alpha: 0.25, selection: .random(seed: 7))))
        let yopo = try VisionPolicy.parse(spec: "yopo:window=3,pruned_heads=4.0/4.5/7.1,cls_only_from_layer=8")
        #expect(yopo == .yopo(YOPOSettings(window: 3, prunedHeads: [4: [0, 5], 7: [1]], clsOnlyFromLayer: 8)))
    }

    @Test func jsonRoundTrip() throws {
        let policies: [VisionPolicy] = [
            .none, .topK(TokenReductionSettings(keepRate: 0.7)),
            .evit(TokenReductionSettings(keepRate: 0.25, reductionLayers: [1, 4])),
            .clca(TokenReductionSettings(keepRate: 0.1)),
            .hired(HiREDSettings(budget: 0.2, alpha: 0.4, allocationLayer: 1, rankingLayer: 10)),
            .hired(HiREDSettings(budget: 0.1, selection: .random(seed: 3))),
            .hired(HiREDSettings(budget: 0.1, selection: .spatial)),
            .yopo(YOPOSettings(window: 5, windowLayers: [0, 1], prunedHeads: [3: [2]], clsOnlyFromLayer: 6)),
        ]
        for policy in policies {
            let decoded = try VisionPolicy.decode(try policy.jsonData(), source: "test")
            #expect(decoded == [policy])
        }
    }

    @Test func fileWithArrayLoads() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vision-policy-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(#"[{"method": "evit", "keep_rate": 0.5}, {"method": "hired", "budget": 0.2}]"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let policies = try VisionPolicy.load(path: path)
        #expect(policies == [.evit(TokenReductionSettings(keepRate: 0.5)), .hired(HiREDSettings(budget: 0.2))])
    }

    @Test func unknownFieldNamesField() {
        let error = #expect(throws: VisionPolicyError.self) {
            try VisionPolicy.decode(Data(#"{"method": "evit", "keep_rate": 0.5, "budget": 0.2}"#.utf8), source: "x")
        }
        #expect(error?.field == "budget")
        #expect(error?.description.contains("does not apply to method evit") == true)
    }

    @Test func missingFieldNamesField() {
        let error = #expect(throws: VisionPolicyError.self) {
            try VisionPolicy.decode(Data(#"{"method": "evit"}"#.utf8), source: "x")
        }
        #expect(error?.field == "keep_rate")
    }

    @Test func invalidValuesRejected() {
        let cases: [(String, String)] = [
            ("evit:1.5", "keep_rate"), ("hired:0", "budget"), ("hired:budget=0.2,alpha=2", "alpha"),
            ("yopo:window=4", "window"), ("evit:keep_rate=0.5,reduction_layers=3/3", "reduction_layers"),
            ("blur:0.5", "method"), ("evit:keep_rate=abc", "keep_rate"),
        ]
        for (spec, field) in cases {
            let error = #expect(throws: VisionPolicyError.self, "spec \(spec)") { try VisionPolicy.parse(spec: spec) }
            #expect(error?.field == field, "spec \(spec)")
        }
    }

    @Test func modelValidationChecksLayersAndHeads() throws {
        #expect(throws: VisionPolicyError.self) {
            try VisionPolicy.parse(spec: "evit:keep_rate=0.5,reduction_layers=3/12").validate(
                layerCount: 12, headCount: 6)
        }
        #expect(throws: VisionPolicyError.self) {
            try VisionPolicy.parse(spec: "yopo:pruned_heads=2.6").validate(layerCount: 12, headCount: 6)
        }
        try VisionPolicy.parse(spec: "yopo:pruned_heads=2.5").validate(layerCount: 12, headCount: 6)
    }
}
