import ElideSupport

/// One image through a vision policy and through the unmodified model on the same views: the pooled feature,
/// its cosine similarity to the unmodified one, the tokens kept and the multiply-adds of both.
///
/// Single-view policies see the image resized to `side × side` and pool the CLS token after the final norm.
/// HiRED and its baselines see the full view plus the partitions and pool the mean of the kept tokens. They
/// drop tokens after the encoder, so their cost equals the unmodified encoder's on the same views.
public struct VisionImagePass: Sendable, Equatable {
    public var feature: [Float]
    public var cosineToFull: Double
    public var tokens: Int
    public var flops: Int
    public var fullFlops: Int
    public var seconds: Double

    public static func run(runner: VisionRunner, image: VisionImage, policy: VisionPolicy, side: Int) -> VisionImagePass
    {
        let start = MonotonicClock.now()
        if case .hired(let settings) = policy {
            let views = PartitionedViews(image: image, side: side, perSide: settings.partitionsPerSide)
            let observation = runner.observe(views: views)
            let everything = observation.select(HiREDSettings(budget: 1, partitionsPerSide: settings.partitionsPerSide))
            let selection = observation.select(settings)
            return VisionImagePass(
                feature: selection.pooled, cosineToFull: VisionPhotoDrift.cosine(selection.pooled, everything.pooled),
                tokens: selection.keptTokens, flops: observation.flops, fullFlops: observation.flops,
                seconds: MonotonicClock.seconds(since: start))
        }
        let input = image.resized(height: side, width: side).normalised()
        let full = runner.run(image: input, height: side, width: side, policy: .none)
        let reduced = policy == .none ? full : runner.run(image: input, height: side, width: side, policy: policy)
        return VisionImagePass(
            feature: reduced.cls, cosineToFull: VisionPhotoDrift.cosine(reduced.cls, full.cls),
            tokens: reduced.finalRows - 1, flops: reduced.flops, fullFlops: full.flops,
            seconds: MonotonicClock.seconds(since: start))
    }
}
