import ElideSupport

/// The feasible depth genomes of an n-layer model under one unit and one drop budget.
///
/// Every genome of the space drops exactly `droppedAttentionCount` attention and `droppedMLPCount` MLP sub-blocks,
/// with the tie between the two kinds that `unit` imposes.
public struct DepthSearchSpace: Hashable, Sendable {
    /// Number of transformer blocks in the model.
    public let layerCount: Int
    /// The gene that mutations move.
    public let unit: DepthSearchUnit
    /// Attention sub-blocks dropped by every genome.
    public let droppedAttentionCount: Int
    /// MLP sub-blocks dropped by every genome.
    public let droppedMLPCount: Int

    /// Resolves a drop target for a model with `layerCount` blocks.
    public init(layerCount: Int, unit: DepthSearchUnit, target: DropTarget) throws {
        guard layerCount >= 2 else {
            throw SearchConfigurationError.invalidLayerCount(layerCount)
        }
        if unit == .pair && layerCount % 2 != 0 {
            throw SearchConfigurationError.oddLayerCountForPairs(layerCount)
        }
        let unitCount = unit.unitCount(layerCount: layerCount)
        let droppedUnits: Int
        switch target {
        case .fraction(let fraction):
            guard fraction.isFinite && fraction > 0 && fraction < 1 else {
                throw SearchConfigurationError.dropFractionOutOfRange(fraction)
            }
            droppedUnits = Int((fraction * Double(unitCount)).rounded(.toNearestOrAwayFromZero))
            guard droppedUnits >= 1 && droppedUnits < unitCount else {
                throw SearchConfigurationError.dropFractionRoundsOutOfRange(
                    fraction: fraction, unit: unit, unitCount: unitCount, droppedUnits: droppedUnits)
            }
        case .count(let count):
            guard count >= 1 && count < unitCount else {
                throw SearchConfigurationError.dropCountOutOfRange(count: count, unit: unit, unitCount: unitCount)
            }
            droppedUnits = count
        case .subBlockCounts(let attention, let mlp):
            try self.init(layerCount: layerCount, unit: unit, droppedAttentionCount: attention, droppedMLPCount: mlp)
            return
        }

        switch unit {
        case .subBlock:
            self.init(layerCount, unit, attention: (droppedUnits + 1) / 2, mlp: droppedUnits / 2)
        case .block:
            self.init(layerCount, unit, attention: droppedUnits, mlp: droppedUnits)
        case .pair:
            self.init(layerCount, unit, attention: 2 * droppedUnits, mlp: 2 * droppedUnits)
        }
    }

    /// Creates a space from explicit per-kind drop counts, checking them against the unit.
    ///
    /// `.subBlock` accepts any counts in `0...layerCount` with at least one drop and one kept sub-block.
    /// `.block` needs equal counts in `1..<layerCount`, and `.pair` equal even counts in `2..<layerCount`.
    public init(layerCount: Int, unit: DepthSearchUnit, droppedAttentionCount: Int, droppedMLPCount: Int) throws {
        guard layerCount >= 2 else {
            throw SearchConfigurationError.invalidLayerCount(layerCount)
        }
        if unit == .pair && layerCount % 2 != 0 {
            throw SearchConfigurationError.oddLayerCountForPairs(layerCount)
        }
        let attention = droppedAttentionCount
        let mlp = droppedMLPCount
        let valid: Bool
        switch unit {
        case .subBlock:
            let total = attention + mlp
            valid =
                (0...layerCount).contains(attention) && (0...layerCount).contains(mlp) && total >= 1
                && total < 2 * layerCount
        case .block:
            valid = attention == mlp && attention >= 1 && attention < layerCount
        case .pair:
            valid = attention == mlp && attention % 2 == 0 && attention >= 2 && attention < layerCount
        }
        guard valid else {
            throw SearchConfigurationError.dropCountsInvalid(
                attention: attention, mlp: mlp, unit: unit, layerCount: layerCount)
        }
        self.init(layerCount, unit, attention: attention, mlp: mlp)
    }

    private init(_ layerCount: Int, _ unit: DepthSearchUnit, attention: Int, mlp: Int) {
        self.layerCount = layerCount
        self.unit = unit
        self.droppedAttentionCount = attention
        self.droppedMLPCount = mlp
    }

    /// Dropped sub-blocks, attention and MLP together.
    public var droppedSubBlockCount: Int { droppedAttentionCount + droppedMLPCount }

    /// Dropped units: sub-blocks, blocks or pairs.
    public var droppedUnitCount: Int { droppedSubBlockCount / unit.subBlocksPerUnit }

    /// Number of feasible genomes, the product of C(genes, dropped) over gene groups, or `Int.max` when it overflows.
    public var configurationCount: Int {
        geneGroups.reduce(1) { product, group in
            saturatingProduct(product, binomial(group.geneCount, group.droppedCount))
        }
    }

    /// The default number of generations, ⌊k(n−k)/1.5⌋ and at least 1.
    ///
    /// EvoPress's repository sizes depth runs by this rule because a linear fitness over n genes with exactly k set
    /// needs O(k(n−k)/λ) expected generations. Here n and k are the gene and drop counts of one gene group:
    /// layers and blocks for `.block`, n/2 and pairs for `.pair`, and for `.subBlock` layers and the per-kind drop
    /// count. When the two kinds drop different counts, the larger k(n−k) of the two is used, which matches the
    /// repository's scripts (both kinds drop the same count there). So 32 layers with 4, 8, 12 or 16 dropped per
    /// kind give 74, 128, 160 and 170 generations.
    public var defaultGenerationCount: Int {
        let largest = geneGroups.map { $0.droppedCount * ($0.geneCount - $0.droppedCount) }.max() ?? 0
        return max(1, largest * 2 / 3)
    }

    /// Returns whether `genome` has this space's layer count, drop counts and unit ties.
    public func contains(_ genome: DepthGenome) -> Bool {
        (try? validate(genome)) != nil
    }

    /// Checks that `genome` belongs to this space and throws an error naming the first rule it breaks.
    public func validate(_ genome: DepthGenome) throws {
        func reject(_ reason: String) -> SearchConfigurationError {
            .genomeOutsideSpace(genome: genome, reason: reason)
        }
        guard genome.layerCount == layerCount else {
            throw reject("it has \(genome.layerCount) layers but the space has \(layerCount)")
        }
        guard genome.droppedAttention.count == droppedAttentionCount, genome.droppedMLP.count == droppedMLPCount
        else {
            throw reject(
                "it drops \(genome.droppedAttention.count) attention and \(genome.droppedMLP.count) MLP sub-blocks "
                    + "but the space drops \(droppedAttentionCount) and \(droppedMLPCount)")
        }
        if unit != .subBlock && genome.droppedAttention != genome.droppedMLP {
            throw reject("unit \(unit.rawValue) drops attention and MLP of the same layers")
        }
        if unit == .pair {
            let layers = genome.droppedAttention
            for index in stride(from: 0, to: layers.count, by: 2)
            where layers[index] % 2 != 0 || layers[index + 1] != layers[index] + 1 {
                throw reject("unit pair drops layers 2j and 2j+1 together")
            }
        }
    }
}

// MARK: - Gene groups

/// One independent mask of a search space: `droppedCount` of `geneCount` genes are set.
struct GeneGroup: Hashable, Sendable {
    let geneCount: Int
    let droppedCount: Int

    /// Whether a level switch can move this group, which needs a dropped gene and a kept one.
    var isMutable: Bool { droppedCount > 0 && droppedCount < geneCount }
}

extension DepthSearchSpace {
    /// The masks a mutation works on: attention then MLP over layers for `.subBlock`, one mask over layers for
    /// `.block` and one over pairs for `.pair`.
    var geneGroups: [GeneGroup] {
        switch unit {
        case .subBlock:
            [
                GeneGroup(geneCount: layerCount, droppedCount: droppedAttentionCount),
                GeneGroup(geneCount: layerCount, droppedCount: droppedMLPCount),
            ]
        case .block:
            [GeneGroup(geneCount: layerCount, droppedCount: droppedAttentionCount)]
        case .pair:
            [GeneGroup(geneCount: layerCount / 2, droppedCount: droppedAttentionCount / 2)]
        }
    }

    /// Dropped genes of each group, ascending, for a genome of this space.
    func droppedGenes(of genome: DepthGenome) -> [[Int]] {
        switch unit {
        case .subBlock: [genome.droppedAttention, genome.droppedMLP]
        case .block: [genome.droppedAttention]
        case .pair: [genome.droppedAttention.filter { $0 % 2 == 0 }.map { $0 / 2 }]
        }
    }

    /// Builds the genome whose groups drop `genes` (one ascending list per gene group).
    func genome(droppedGenes genes: [[Int]]) -> DepthGenome {
        switch unit {
        case .subBlock:
            return DepthGenome(uncheckedLayerCount: layerCount, droppedAttention: genes[0], droppedMLP: genes[1])
        case .block:
            return DepthGenome(uncheckedLayerCount: layerCount, droppedAttention: genes[0], droppedMLP: genes[0])
        case .pair:
            let layers = genes[0].flatMap { [2 * $0, 2 * $0 + 1] }
            return DepthGenome(uncheckedLayerCount: layerCount, droppedAttention: layers, droppedMLP: layers)
        }
    }

    /// Draws a uniformly random genome of this space.
    func randomGenome(using generator: inout SeededGenerator) -> DepthGenome {
        let genes = geneGroups.map { group in
            generator.sampleWithoutReplacement(count: group.droppedCount, from: group.geneCount).sorted()
        }
        return genome(droppedGenes: genes)
    }

    /// Draws `count` distinct uniformly random genomes, in draw order.
    func distinctRandomGenomes(count: Int, using generator: inout SeededGenerator) throws -> [DepthGenome] {
        guard count <= configurationCount else {
            throw SearchConfigurationError.searchSpaceTooSmall(
                configurationCount: configurationCount, required: count, purpose: "\(count) distinct random genomes")
        }
        var seen = Set<DepthGenome>()
        var genomes: [DepthGenome] = []
        while genomes.count < count {
            let genome = randomGenome(using: &generator)
            if seen.insert(genome).inserted {
                genomes.append(genome)
            }
        }
        return genomes
    }

    /// Number of genomes other than a given one that at most `maximumSwaps` level switches reach.
    ///
    /// A genome at swap distance d_g in group g differs there by d_g dropped and d_g kept genes, which gives
    /// C(k_g, d_g)·C(n_g − k_g, d_g) choices per group. The sum runs over all splits with 1 ≤ Σ d_g ≤ maximumSwaps.
    func neighbourhoodSize(maximumSwaps: Int) -> Int {
        var totals = [1] + [Int](repeating: 0, count: maximumSwaps)  // totals[d]: genomes at total distance d
        for group in geneGroups {
            var next = [Int](repeating: 0, count: maximumSwaps + 1)
            for (distance, count) in totals.enumerated() where count > 0 {
                for step in 0...(maximumSwaps - distance) {
                    let ways = saturatingProduct(
                        binomial(group.droppedCount, step), binomial(group.geneCount - group.droppedCount, step))
                    next[distance + step] = saturatingSum(next[distance + step], saturatingProduct(count, ways))
                }
            }
            totals = next
        }
        return totals.dropFirst().reduce(0, saturatingSum)
    }
}

// MARK: - Enumeration

extension DepthSearchSpace {
    /// The largest space `allGenomes(limit:)` enumerates when the caller passes no other limit.
    ///
    /// 10,000 covers the 8,008 configurations of EvoPress's brute-force check (12 of 32 Llama-3-8B blocks dropped
    /// as 6 of 16 pairs) while keeping one evaluation per configuration affordable on a small cluster.
    public static let defaultEnumerationLimit = 10_000

    /// Lists every genome of the space, in lexicographic order of the dropped genes (attention group first).
    ///
    /// - Throws: `SearchConfigurationError.enumerationLimitExceeded` when the space contains more than `limit` genomes.
    public func allGenomes(limit: Int = DepthSearchSpace.defaultEnumerationLimit) throws -> [DepthGenome] {
        let count = configurationCount
        guard count <= limit else {
            throw SearchConfigurationError.enumerationLimitExceeded(configurationCount: count, limit: limit)
        }
        var products: [[[Int]]] = [[]]
        for group in geneGroups {
            let combinations = Self.combinations(of: group.droppedCount, from: group.geneCount)
            products = products.flatMap { prefix in combinations.map { prefix + [$0] } }
        }
        return products.map { genome(droppedGenes: $0) }
    }

    /// Returns all ascending k-subsets of `0..<n` in lexicographic order.
    static func combinations(of k: Int, from n: Int) -> [[Int]] {
        guard k <= n else { return [] }
        var result: [[Int]] = []
        var current = Array(0..<k)
        while true {
            result.append(current)
            // Find the rightmost position that can still move right, advance it and reset the tail after it.
            var position = k - 1
            while position >= 0 && current[position] == n - k + position {
                position -= 1
            }
            if position < 0 {
                return result
            }
            current[position] += 1
            for tail in (position + 1)..<k {
                current[tail] = current[tail - 1] + 1
            }
        }
    }
}

// MARK: - Codable

extension DepthSearchSpace: Codable {
    private enum CodingKeys: String, CodingKey {
        case layerCount
        case unit
        case droppedAttentionCount
        case droppedMLPCount
    }

    /// Decodes a space and checks its counts as `init(layerCount:unit:droppedAttentionCount:droppedMLPCount:)` does.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            layerCount: try container.decode(Int.self, forKey: .layerCount),
            unit: try container.decode(DepthSearchUnit.self, forKey: .unit),
            droppedAttentionCount: try container.decode(Int.self, forKey: .droppedAttentionCount),
            droppedMLPCount: try container.decode(Int.self, forKey: .droppedMLPCount))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(layerCount, forKey: .layerCount)
        try container.encode(unit, forKey: .unit)
        try container.encode(droppedAttentionCount, forKey: .droppedAttentionCount)
        try container.encode(droppedMLPCount, forKey: .droppedMLPCount)
    }
}

// MARK: - Saturating arithmetic

/// Computes C(n, k), saturating at `Int.max`, and returns 0 when k is outside `0...n`.
func binomial(_ n: Int, _ k: Int) -> Int {
    guard k >= 0 && k <= n else { return 0 }
    let k = min(k, n - k)
    var result = 1
    for step in 0..<k {
        // result · (n − step) / (step + 1) stays an integer at every step because it equals C(n, step + 1).
        let (product, overflow) = result.multipliedReportingOverflow(by: n - step)
        if overflow {
            return Int.max
        }
        result = product / (step + 1)
    }
    return result
}

func saturatingProduct(_ a: Int, _ b: Int) -> Int {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? Int.max : product
}

func saturatingSum(_ a: Int, _ b: Int) -> Int {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? Int.max : sum
}
