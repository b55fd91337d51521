import ElideFormats
import Foundation

/// Writes a compressed copy of a LLaMA GGUF file in which a `CompressionPlan`'s dropped sub-blocks are
/// gone, so any GGUF reader (llama.cpp included) runs the compressed model without knowing the plan.
///
/// - A layer whose attention and MLP are both dropped disappears: the remaining `blk.N.*` tensors are
///   renumbered from 0 and `llama.block_count` is updated.
/// - A dropped sub-block inside a kept layer keeps its tensors, but its output projection
///   (`attn_output` or `ffn_down`, and its bias if any) is replaced by zeros of the same type and
///   shape. The sub-block then adds exactly 0 to the residual stream, an identity, though a reader
///   still spends the time to compute it.
///
/// All-zero bytes are a zero tensor in every ggml type this project reads (F32, F16, BF16, and the
/// block formats, whose scales and minimums are then 0). Metadata is copied in order, plus
/// `elide.compression_plan` with the plan's JSON.
public enum GGUFExporter {
    /// The outcome of an export.
    public struct Summary: Sendable, Equatable, Codable {
        public var layersBefore: Int
        public var layersAfter: Int
        /// Tensors written.
        public var tensorCount: Int
        /// Tensors replaced by zeros.
        public var zeroedTensors: [String]
        /// Old layer index of each new layer.
        public var keptLayers: [Int]
    }

    /// Builds the compressed file's contents.
    public static func makeWriter(from file: GGUFFile, plan: CompressionPlan) throws -> (GGUFWriter, Summary) {
        guard let blockCount = file.metadata["llama.block_count"]?.intValue else {
            throw PlanError("\(file.path) has no integer llama.block_count; only llama GGUF files can be exported")
        }
        try plan.validate(layerCount: blockCount)
        let attentionDropped = Set(plan.attentionDropped)
        let mlpDropped = Set(plan.mlpDropped)
        let keptLayers = (0..<blockCount).filter { !(attentionDropped.contains($0) && mlpDropped.contains($0)) }
        guard !keptLayers.isEmpty else {
            throw PlanError(
                "the plan drops every sub-block of all \(blockCount) layers; nothing would be left to export")
        }
        let newIndex = Dictionary(uniqueKeysWithValues: keptLayers.enumerated().map { ($0.element, $0.offset) })

        var writer = GGUFWriter()
        for key in file.metadataKeys {
            // !-safe: every key in `metadataKeys` has a value.
            writer.setMetadata(key, file.metadata[key]!)
        }
        writer.setMetadata(
            "llama.block_count", blockCountValue(keptLayers.count, like: file.metadata["llama.block_count"]))
        writer.setMetadata("elide.compression_plan", .string(String(decoding: try plan.jsonData(), as: UTF8.self)))

        var zeroed: [String] = []
        for tensor in file.tensors {
            guard let (layer, suffix) = layerTensor(tensor.name) else {
                try writer.addTensor(
                    name: tensor.name, dimensions: tensor.dimensions, type: tensor.type, bytes: file.data(for: tensor))
                continue
            }
            guard let index = newIndex[layer] else { continue }
            let name = "blk.\(index).\(suffix)"
            let zeroesAttention = attentionDropped.contains(layer) && suffix.hasPrefix("attn_output.")
            let zeroesMLP = mlpDropped.contains(layer) && suffix.hasPrefix("ffn_down.")
            if zeroesAttention || zeroesMLP {
                let bytes = [UInt8](repeating: 0, count: tensor.byteCount)
                try writer.addTensor(name: name, dimensions: tensor.dimensions, type: tensor.type, bytes: bytes)
                zeroed.append(name)
            } else {
                try writer.addTensor(
                    name: name, dimensions: tensor.dimensions, type: tensor.type, bytes: file.data(for: tensor))
            }
        }
        let summary = Summary(
            layersBefore: blockCount, layersAfter: keptLayers.count, tensorCount: writer.tensors.count,
            zeroedTensors: zeroed, keptLayers: keptLayers)
        return (writer, summary)
    }

    /// Writes the compressed copy of `file` to `path` (atomically, see `GGUFWriter.write(to:)`).
    @discardableResult
    public static func export(_ file: GGUFFile, plan: CompressionPlan, to path: String) throws -> Summary {
        let (writer, summary) = try makeWriter(from: file, plan: plan)
        try writer.write(to: path)
        return summary
    }

    /// Splits `blk.N.rest` into (N, rest); nil for tensors outside the layers.
    static func layerTensor(_ name: String) -> (layer: Int, suffix: String)? {
        guard name.hasPrefix("blk.") else { return nil }
        let rest = name.dropFirst(4)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]) else { return nil }
        return (layer, String(rest[rest.index(after: dot)...]))
    }

    /// `count` in the integer type the original block count used (llama.cpp writes uint32).
    private static func blockCountValue(_ count: Int, like original: GGUFValue?) -> GGUFValue {
        switch original {
        case .uint64: .uint64(UInt64(count))
        case .int32: .int32(Int32(count))
        case .int64: .int64(Int64(count))
        case .uint16: .uint16(UInt16(count))
        default: .uint32(UInt32(count))
        }
    }
}
