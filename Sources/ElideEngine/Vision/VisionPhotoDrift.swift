import ElideModels
import ElideSupport

/// The drift of one policy's pooled features from the full model's on a set of photographs.
public struct VisionPhotoDriftRow: Sendable, Encodable {
    public let label: String
    public let method: String
    public let setting: Double?
    /// Cosine similarity to the full model's pooled feature, averaged over the photographs.
    public let meanCosine: Double
    public let minimumCosine: Double
    public let flopsPerImage: Double
    public let secondsPerImage: Double
    public let policy: VisionPolicy

    enum CodingKeys: String, CodingKey {
        case label, method, setting, policy
        case meanCosine = "mean_cosine"
        case minimumCosine = "minimum_cosine"
        case flopsPerImage = "flops_per_image"
        case secondsPerImage = "seconds_per_image"
    }
}

/// Measures feature drift on high-resolution photographs. Single-view policies compare `probeInput` features
/// with the unmodified model's at `side × side`. HiRED-family policies compare the mean of the kept tokens with
/// the mean of all tokens of the same views: the full view at `side` and sub-images cut from the photograph
/// resized to `perSide · side`.
public enum VisionPhotoDrift {
    public static func measure(
        runner: VisionRunner, photos: [VisionImage], policies: [VisionPolicy], side: Int, perSide: Int = 2,
        probeInput: ProbeInput = .cls,
        log: (String) -> Void = { _ in }
    ) -> [VisionPhotoDriftRow] {
        let single = [VisionPolicy.none] + policies.filter { !$0.usesPartitionedViews && $0 != .none }
        let partitioned = policies.compactMap { policy -> HiREDSettings? in
            if case .hired(let settings) = policy, settings.partitionsPerSide == perSide { return settings }
            return nil
        }
        var cosines = [[Double]](repeating: [], count: single.count + partitioned.count)
        var flops = [Int](repeating: 0, count: cosines.count)
        var seconds = [Double](repeating: 0, count: cosines.count)

        for (index, photo) in photos.enumerated() {
            log("photograph \(index + 1)/\(photos.count)")
            let input = photo.resized(height: side, width: side).normalised()
            var reference: [Float] = []
            for (slot, policy) in single.enumerated() {
                let features = runner.run(image: input, height: side, width: side, policy: policy)
                if slot == 0 { reference = features.probeFeature(probeInput) }
                cosines[slot].append(cosine(features.probeFeature(probeInput), reference))
                flops[slot] += features.flops
                seconds[slot] += features.seconds
            }
            guard !partitioned.isEmpty else { continue }
            let observation = runner.observe(views: PartitionedViews(image: photo, side: side, perSide: perSide))
            let all = observation.select(HiREDSettings(budget: 1, partitionsPerSide: perSide)).pooled
            for (offset, settings) in partitioned.enumerated() {
                let slot = single.count + offset
                let start = MonotonicClock.now()
                let selection = observation.select(settings, imageIndex: index)
                cosines[slot].append(cosine(selection.pooled, all))
                flops[slot] += observation.flops
                seconds[slot] += observation.seconds + MonotonicClock.seconds(since: start)
            }
        }

        let policiesBySlot = single + partitioned.map { VisionPolicy.hired($0) }
        let count = Double(max(1, photos.count))
        return policiesBySlot.enumerated().map { slot, policy in
            VisionPhotoDriftRow(
                label: policy.label, method: policy.methodName, setting: policy.setting,
                meanCosine: cosines[slot].reduce(0, +) / count, minimumCosine: cosines[slot].min() ?? 0,
                flopsPerImage: Double(flops[slot]) / count, secondsPerImage: seconds[slot] / count, policy: policy)
        }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0
        var normA = 0.0
        var normB = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            normA += Double(x) * Double(x)
            normB += Double(y) * Double(y)
        }
        return dot / max(1e-12, (normA * normB).squareRoot())
    }
}
