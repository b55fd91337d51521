import ElideEngine
import Testing

@Suite(.serialized) struct YOPOModelTests {
    @Test func windowCoveringGridEqualsFullAttention() throws {
        let runner = try VisionPolicyAssets.requireRunner()
        let image = VisionPolicyAssets.image(side: 112)
        let full = runner.run(image: image, height: 112, width: 112, policy: .none)
        // An 8 × 8 grid: a 15 × 15 window reaches every patch from every patch.
        let covering = runner.run(image: image, height: 112, width: 112, policy: .yopo(YOPOSettings(window: 15)))
        let maxDifference = zip(covering.cls, full.cls).map { abs($0 - $1) }.max()!
        #expect(maxDifference < 1e-4)
        let narrow = runner.run(image: image, height: 112, width: 112, policy: .yopo(YOPOSettings(window: 3)))
        #expect(zip(narrow.cls, full.cls).map { abs($0 - $1) }.max()! > 1e-2)
    }

    @Test func clsOnlyLayersSaveFlopsAndFreezePatches() throws {
        let runner = try VisionPolicyAssets.requireRunner()
        let image = VisionPolicyAssets.image(side: 112)
        let full = runner.run(image: image, height: 112, width: 112, policy: .none)
        let dropped = runner.run(
            image: image, height: 112, width: 112, policy: .yopo(YOPOSettings(clsOnlyFromLayer: 6)))
        #expect(Double(dropped.flops) < 0.65 * Double(full.flops))
        // Patches frozen after layer 5 equal a 6-layer run's patches (before the final norm, which both apply).
        var tokens = runner.model.embed(image: image, height: 112, width: 112)
        for layer in 0..<6 { _ = runner.model.runLayer(layer, tokens: &tokens, options: .init()) }
        let normed = runner.model.finalNorm(tokens)
        var mean = [Float](repeating: 0, count: normed.width)
        for row in 1..<normed.rows {
            for column in 0..<normed.width {
                mean[column] += normed.values[row * normed.width + column] / Float(normed.rows - 1)
            }
        }
        #expect(zip(mean, dropped.meanPatch).map { abs($0 - $1) }.max()! < 1e-4)
    }

    @Test func prunedHeadsChangeOutputAndCalibrationPicksCount() throws {
        let runner = try VisionPolicyAssets.requireRunner()
        var calibration = YOPOCalibration(layers: 12, heads: 6, count: 8)
        for seed in 0..<3 {
            calibration.add(
                model: runner.model, image: VisionPolicyAssets.image(side: 56, seed: seed), height: 56, width: 56)
        }
        let pruned = calibration.prunedHeads
        #expect(pruned.values.reduce(0) { $0 + $1.count } == 8)
        #expect(pruned.keys.allSatisfy { $0 >= 2 })
        #expect(calibration.votes.reduce(0, +) == 3 * 8)

        let image = VisionPolicyAssets.image(side: 56)
        let full = runner.run(image: image, height: 56, width: 56, policy: .none)
        let policy = VisionPolicy.yopo(YOPOSettings(prunedHeads: pruned))
        try policy.validate(layerCount: 12, headCount: 6)
        let headless = runner.run(image: image, height: 56, width: 56, policy: policy)
        #expect(headless.cls != full.cls)
        #expect(headless.flops < full.flops)
    }

    @Test func spreadOfSinkHeadIsZero() {
        // Three queries all attending to key 0: a sink. Uniform attention: spread 2/3.
        let sink: [Float] = [1, 0, 0, 1, 0, 0, 1, 0, 0]
        #expect(YOPOCalibration.spread(attention: sink[...], rows: 3) == 0)
        let uniform = [Float](repeating: 1.0 / 3, count: 9)
        #expect(abs(YOPOCalibration.spread(attention: uniform[...], rows: 3) - 2.0 / 3) < 1e-6)
    }
}
