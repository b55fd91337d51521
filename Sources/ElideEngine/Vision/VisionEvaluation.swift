import ElideFormats
import ElideModels
import ElideSupport

/// One policy's measured accuracy and cost on a labelled test set.
public struct VisionEvaluationRow: Sendable, Encodable {
    public let label: String
    public let method: String
    /// Keep rate (top-k, evit, clca) or budget (hired, random, spatial); nil otherwise.
    public let setting: Double?
    /// Linear probe trained on the full model's features, scored on the policy's features.
    public let linearAccuracy: Double
    /// k-NN on the full model's training features, queried with the policy's features.
    public let knnAccuracy: Double
    /// Linear probe trained on the policy's own training features: what information the features keep, as
    /// opposed to how far they drift. HiRED-family rows always have it; single-view rows with `adaptedProbes`.
    public let adaptedLinearAccuracy: Double?
    /// CLCA rows: the cross-layer aggregation head trained on the policy's own training features.
    public let headAccuracy: Double?
    /// Multiply-adds per test image (embedding, attention and every matrix product).
    public let flopsPerImage: Double
    public let secondsPerImage: Double
    /// Mean rows entering the last layer (CLS included), or kept tokens for HiRED-family policies.
    public let tokensPerImage: Double
    public let policy: VisionPolicy

    enum CodingKeys: String, CodingKey {
        case label, method, setting, policy
        case linearAccuracy = "linear_accuracy"
        case knnAccuracy = "knn_accuracy"
        case headAccuracy = "head_accuracy"
        case adaptedLinearAccuracy = "adapted_linear_accuracy"
        case flopsPerImage = "flops_per_image"
        case secondsPerImage = "seconds_per_image"
        case tokensPerImage = "tokens_per_image"
    }
}

/// Evaluates vision policies on a grey image set (MNIST, Fashion-MNIST): each digit is repeated into RGB and
/// resized to `side × side` (multiple of 14); HiRED-family policies see a full view at `side` plus
/// sub-images cut from the image resized to `perSide · side`.
public final class VisionEvaluation {
    public struct Settings: Sendable {
        /// Input side for single-view policies and for HiRED's full view and sub-images (112 = 8 × 8 patches).
        public var side = 112
        public var neighbours = 20
        public var probeInput = ProbeInput.cls
        /// Also trains a probe on each single-view policy's own training features (one more training pass each).
        public var adaptedProbes = false
        public var probe = LinearProbe.Settings()
        public var head = CrossLayerAggregationHead.TrainingSettings()

        public init() {}
    }

    public let runner: VisionRunner
    public let train: LabeledImageSet
    public let test: LabeledImageSet
    public let settings: Settings
    let log: (String) -> Void
    private var singleViewFull: (train: [VisionFeatures], probe: LinearProbe, knn: NearestNeighbourProbe)?

    public init(
        runner: VisionRunner, train: LabeledImageSet, test: LabeledImageSet, settings: Settings = Settings(),
        log: @escaping (String) -> Void = { _ in }
    ) {
        self.runner = runner
        self.train = train
        self.test = test
        self.settings = settings
        self.log = log
    }

    /// Returns the normalised single-view input of image `index` of `set`.
    public func input(_ set: LabeledImageSet, _ index: Int) -> [Float] {
        VisionImage(grey: set.image(index), height: set.height, width: set.width)
            .resized(height: settings.side, width: settings.side).normalised()
    }

    /// Runs `policy` over every image of `set`.
    func features(_ set: LabeledImageSet, policy: VisionPolicy, name: String) -> [VisionFeatures] {
        log("\(policy.label) on \(set.count) \(name) images")
        return (0..<set.count).map {
            runner.run(image: input(set, $0), height: settings.side, width: settings.side, policy: policy)
        }
    }

    /// Evaluates every policy; single-view policies come first, then the HiRED family from shared encoder passes.
    public func evaluate(_ policies: [VisionPolicy]) -> [VisionEvaluationRow] {
        var rows: [VisionEvaluationRow] = []
        let single = policies.filter { !$0.usesPartitionedViews }
        if !single.isEmpty {
            rows += evaluateSingleView(single)
        }
        let partitioned = policies.compactMap { policy -> HiREDSettings? in
            if case .hired(let settings) = policy { return settings }
            return nil
        }
        if !partitioned.isEmpty {
            rows += evaluatePartitioned(partitioned)
        }
        return rows
    }

    func evaluateSingleView(_ policies: [VisionPolicy]) -> [VisionEvaluationRow] {
        let full = fullSingleView()
        var rows: [VisionEvaluationRow] = []
        let fullTest = features(test, policy: .none, name: "test")
        rows.append(
            row(
                .none, fullTest, probe: full.probe, knn: full.knn, adapted: nil,
                head: headAccuracy(trainFeatures: full.train, testFeatures: fullTest)))
        for policy in policies where policy != .none {
            let testFeatures = features(test, policy: policy, name: "test")
            var head: Double? = nil
            var adapted: Double? = nil
            var isCLCA = false
            if case .clca = policy { isCLCA = true }
            if isCLCA || settings.adaptedProbes {
                let trainFeatures = features(train, policy: policy, name: "training")
                if isCLCA { head = headAccuracy(trainFeatures: trainFeatures, testFeatures: testFeatures) }
                let probe = LinearProbe.train(
                    features: trainFeatures.map { $0.probeFeature(settings.probeInput) }, labels: train.labels,
                    classCount: train.classCount, settings: settings.probe)
                adapted = probe.accuracy(
                    features: testFeatures.map { $0.probeFeature(settings.probeInput) }, labels: test.labels)
            }
            rows.append(row(policy, testFeatures, probe: full.probe, knn: full.knn, adapted: adapted, head: head))
        }
        return rows
    }

    /// Returns the full model's training features and the probes trained on them, computed once.
    func fullSingleView() -> (train: [VisionFeatures], probe: LinearProbe, knn: NearestNeighbourProbe) {
        if let cached = singleViewFull { return cached }
        let trainFeatures = features(train, policy: .none, name: "training")
        let inputs = trainFeatures.map { $0.probeFeature(settings.probeInput) }
        let probe = LinearProbe.train(
            features: inputs, labels: train.labels, classCount: train.classCount, settings: settings.probe)
        let knn = NearestNeighbourProbe(
            features: inputs, labels: train.labels, classCount: train.classCount, k: settings.neighbours)
        singleViewFull = (trainFeatures, probe, knn)
        return (trainFeatures, probe, knn)
    }

    /// Trains a CLA head on the training features' stage CLS vectors and returns its test accuracy.
    public func headAccuracy(trainFeatures: [VisionFeatures], testFeatures: [VisionFeatures]) -> Double {
        let width = runner.model.configuration.width
        var head = CrossLayerAggregationHead(
            width: width, depths: trainFeatures[0].stageCLS.count / width, classCount: train.classCount,
            seed: settings.head.seed)
        head.train(examples: trainFeatures.map(\.stageCLS), labels: train.labels, settings: settings.head)
        return head.accuracy(examples: testFeatures.map(\.stageCLS), labels: test.labels)
    }

    func row(
        _ policy: VisionPolicy, _ features: [VisionFeatures], probe: LinearProbe, knn: NearestNeighbourProbe,
        adapted: Double?, head: Double?
    ) -> VisionEvaluationRow {
        let inputs = features.map { $0.probeFeature(settings.probeInput) }
        let count = Double(features.count)
        return VisionEvaluationRow(
            label: policy.label, method: policy.methodName, setting: policy.setting,
            linearAccuracy: probe.accuracy(features: inputs, labels: test.labels),
            knnAccuracy: knn.accuracy(features: inputs, labels: test.labels), adaptedLinearAccuracy: adapted,
            headAccuracy: head,
            flopsPerImage: Double(features.reduce(0) { $0 + $1.flops }) / count,
            secondsPerImage: features.reduce(0) { $0 + $1.seconds } / count,
            tokensPerImage: Double(features.reduce(0) { $0 + $1.finalRows }) / count, policy: policy)
    }

    // MARK: - HiRED family

    func views(_ set: LabeledImageSet, _ index: Int, perSide: Int) -> PartitionedViews {
        PartitionedViews(
            image: VisionImage(grey: set.image(index), height: set.height, width: set.width), side: settings.side,
            perSide: perSide)
    }

    func evaluatePartitioned(_ policies: [HiREDSettings]) -> [VisionEvaluationRow] {
        let perSide = policies[0].partitionsPerSide
        let full = HiREDSettings(budget: 1, partitionsPerSide: perSide)
        let all = [full] + policies.filter { $0.partitionsPerSide == perSide }

        // One encoder pass per image serves every budget, because HiRED drops tokens after the encoder.
        func pooledFeatures(_ set: LabeledImageSet, name: String) -> (
            pooled: [[[Float]]], kept: [Int], seconds: [Double], flops: Int
        ) {
            log(
                "hired views (full + \(perSide * perSide) sub-images) on \(set.count) \(name) images, \(all.count) selections each"
            )
            var pooled = [[[Float]]](repeating: [], count: all.count)
            var kept = [Int](repeating: 0, count: all.count)
            var seconds = [Double](repeating: 0, count: all.count)
            var flops = 0
            for index in 0..<set.count {
                let observation = runner.observe(views: views(set, index, perSide: perSide))
                flops += observation.flops
                for (slot, policy) in all.enumerated() {
                    let start = MonotonicClock.now()
                    let selection = observation.select(policy, imageIndex: index)
                    seconds[slot] += observation.seconds + MonotonicClock.seconds(since: start)
                    pooled[slot].append(selection.pooled)
                    kept[slot] += selection.keptTokens
                }
            }
            return (pooled, kept, seconds, flops)
        }
        let trained = pooledFeatures(train, name: "training")
        let tested = pooledFeatures(test, name: "test")
        let probe = LinearProbe.train(
            features: trained.pooled[0], labels: train.labels, classCount: train.classCount, settings: settings.probe)
        let knn = NearestNeighbourProbe(
            features: trained.pooled[0], labels: train.labels, classCount: train.classCount, k: settings.neighbours)

        let count = Double(test.count)
        return all.enumerated().map { slot, settings in
            let policy = VisionPolicy.hired(settings)
            let adapted = LinearProbe.train(
                features: trained.pooled[slot], labels: train.labels, classCount: train.classCount,
                settings: self.settings.probe)
            return VisionEvaluationRow(
                label: slot == 0 ? "hired views, all tokens" : policy.label,
                method: slot == 0 ? "hired-full" : policy.methodName,
                setting: settings.budget,
                linearAccuracy: probe.accuracy(features: tested.pooled[slot], labels: test.labels),
                knnAccuracy: knn.accuracy(features: tested.pooled[slot], labels: test.labels),
                adaptedLinearAccuracy: adapted.accuracy(features: tested.pooled[slot], labels: test.labels),
                headAccuracy: nil,
                flopsPerImage: Double(tested.flops) / count, secondsPerImage: tested.seconds[slot] / count,
                tokensPerImage: Double(tested.kept[slot]) / count, policy: policy)
        }
    }
}

extension VisionPolicy {
    /// The keep rate or budget, for tables and plots.
    public var setting: Double? {
        switch self {
        case .topK(let s), .evit(let s), .clca(let s): return s.keepRate
        case .hired(let s): return s.budget
        case .none, .yopo: return nil
        }
    }
}
