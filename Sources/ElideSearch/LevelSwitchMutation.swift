import ElideSupport

/// EvoPress's level-switch mutation for depth genomes (`evo_drop_search.py` in IST-DASLab/EvoPress).
///
/// One switch picks a gene group uniformly among those with both a dropped and a kept gene, so attention or MLP
/// with probability ½ each in `.subBlock` spaces. It then swaps one uniformly chosen dropped gene with one
/// uniformly chosen kept gene. The drop counts never change, so every offspring stays in the space.
enum LevelSwitchMutation {
    /// Most switches applied to one offspring.
    static let maximumSwitchCount = 3

    /// Consecutive rejected offspring after which `offspring(of:count:in:generation:using:)` gives up.
    ///
    /// The configuration check already guarantees that enough distinct neighbours exist. When λ nearly equals
    /// their number, though, the last ones are rare draws. A given genome three switches away in a 10-layer space
    /// with 3 dropped blocks comes up about once in 2,300 draws, and the cap leaves ample room for such tails.
    static let maximumConsecutiveRejections = 100_000

    /// Draws the number of switches, min(U{1,3}, U{1,3}): 1, 2 or 3 with probabilities 5/9, 3/9 and 1/9.
    static func drawSwitchCount(using generator: inout SeededGenerator) -> Int {
        let first = 1 + generator.uniformIndex(below: maximumSwitchCount)
        let second = 1 + generator.uniformIndex(below: maximumSwitchCount)
        return min(first, second)
    }

    /// Applies one level switch to `masks` (one Bool mask per gene group, `true` for dropped).
    static func applySwitch(to masks: inout [[Bool]], groups: [GeneGroup], using generator: inout SeededGenerator) {
        let mutable = groups.indices.filter { groups[$0].isMutable }
        precondition(!mutable.isEmpty, "a level switch needs a group with both dropped and kept genes")
        let group = mutable[generator.uniformIndex(below: mutable.count)]
        let dropped = masks[group].indices.filter { masks[group][$0] }
        let kept = masks[group].indices.filter { !masks[group][$0] }
        let restored = dropped[generator.uniformIndex(below: dropped.count)]
        let removed = kept[generator.uniformIndex(below: kept.count)]
        masks[group][restored] = false
        masks[group][removed] = true
    }

    /// Creates `count` offspring, each a mutated copy of a uniformly chosen parent, in creation order.
    ///
    /// An offspring that equals a parent or an earlier offspring is rejected and drawn again.
    ///
    /// - Throws: `SearchProgressError.offspringExhausted` after `maximumConsecutiveRejections` rejections in a row.
    static func offspring(
        of parents: [DepthGenome], count: Int, in space: DepthSearchSpace, generation: Int,
        using generator: inout SeededGenerator
    ) throws -> [DepthGenome] {
        let groups = space.geneGroups
        var seen = Set(parents)
        var offspring: [DepthGenome] = []
        var rejections = 0
        while offspring.count < count {
            let parent = parents[generator.uniformIndex(below: parents.count)]
            var masks = zip(groups, space.droppedGenes(of: parent)).map { group, genes in
                var mask = [Bool](repeating: false, count: group.geneCount)
                for gene in genes {
                    mask[gene] = true
                }
                return mask
            }
            for _ in 0..<drawSwitchCount(using: &generator) {
                applySwitch(to: &masks, groups: groups, using: &generator)
            }
            let child = space.genome(droppedGenes: masks.map { mask in mask.indices.filter { mask[$0] } })

            if seen.insert(child).inserted {
                offspring.append(child)
                rejections = 0
            } else {
                rejections += 1
                if rejections >= maximumConsecutiveRejections {
                    throw SearchProgressError.offspringExhausted(
                        generation: generation, found: offspring.count, requested: count, attempts: rejections,
                        configurationCount: space.configurationCount)
                }
            }
        }
        return offspring
    }
}
