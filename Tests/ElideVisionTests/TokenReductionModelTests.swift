import ElideEngine
import Testing

@Suite(.serialized) struct TokenReductionModelTests {
    @Test func keepRateOneEqualsUnmodifiedForward() throws {
        let runner = try VisionPolicyAssets.requireRunner()
        let image = VisionPolicyAssets.image(side: 112)
        let reference = runner.model.forward(image: image, height: 112, width: 112)
        let unmodified = runner.run(image: image, height: 112, width: 112, policy: .none)
        #expect(unmodified.cls == Array(reference.row(0)))
        for policy: VisionPolicy in [
            .evit(TokenReductionSettings(keepRate: 1)), .topK(TokenReductionSettings(keepRate: 1)),
        ] {
            let features = runner.run(image: image, height: 112, width: 112, policy: policy)
            #expect(features.cls == unmodified.cls, "\(policy.label)")
            #expect(features.meanPatch == unmodified.meanPatch, "\(policy.label)")
            #expect(features.flops == unmodified.flops, "\(policy.label)")
        }
    }

    @Test func rowCountsFollowKeepRate() throws {
        let runner = try VisionPolicyAssets.requireRunner()
        let image = VisionPolicyAssets.image(side: 112)
        // 64 patches; ⌈0.9 · n⌉ at layers 3, 6, 9: top-K 64 → 58 → 53 → 48, EViT adds and re-ranks one fused token.
        let topK = runner.run(
            image: image, height: 112, width: 112, policy: .topK(TokenReductionSettings(keepRate: 0.9)))
        #expect(topK.finalRows == 1 + 48)
        let evit = runner.run(
            image: image, height: 112, width: 112, policy: .evit(TokenReductionSettings(keepRate: 0.9)))
        #expect(evit.finalRows == 1 + 50 + 1)
        // CLCA adds the cache: 3 + 3 + 3 GAP tokens at layers 3, 6, 9 and 1 at layer 10.
        let clca = runner.run(
            image: image, height: 112, width: 112, policy: .clca(TokenReductionSettings(keepRate: 0.9)))
        #expect(clca.finalRows == 1 + 50 + 1 + 10)
        #expect(clca.stageCLS.count == 4 * runner.model.configuration.width)
    }

    @Test func flopsFallWithKeepRate() throws {
        let runner = try VisionPolicyAssets.requireRunner()
        let image = VisionPolicyAssets.image(side: 112)
        let full = runner.run(image: image, height: 112, width: 112, policy: .none)
        var previous = full.flops
        for rate in [0.9, 0.7, 0.5, 0.3, 0.1] {
            let features = runner.run(
                image: image, height: 112, width: 112, policy: .evit(TokenReductionSettings(keepRate: rate)))
            #expect(features.flops < previous, "keep rate \(rate)")
            previous = features.flops
        }
        // Layers 0–3 always see all 65 rows, so keep rate 0.1 saves less than 9/12 of the layers' work.
        #expect(Double(previous) > 0.3 * Double(full.flops))
        #expect(Double(previous) < 0.45 * Double(full.flops))
    }

    @Test func higherKeepRateDriftsLess() throws {
        let runner = try VisionPolicyAssets.requireRunner()
        let image = VisionPolicyAssets.image(side: 112)
        let full = runner.run(image: image, height: 112, width: 112, policy: .none)
        let evit = runner.run(
            image: image, height: 112, width: 112, policy: .evit(TokenReductionSettings(keepRate: 0.5)))
        let aggressive = runner.run(
            image: image, height: 112, width: 112, policy: .evit(TokenReductionSettings(keepRate: 0.1)))
        // Keeping more tokens moves the CLS token less.
        #expect(cosine(evit.cls, full.cls) > cosine(aggressive.cls, full.cls))
        #expect(cosine(evit.cls, full.cls) > 0.8)
    }

    func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        let norms = a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return dot / norms
    }
}
