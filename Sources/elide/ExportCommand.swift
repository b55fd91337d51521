import ElideEngine
import ElideFormats
import ElideSupport

/// Writes a GGUF file with a compression plan's dropped sub-blocks removed or zeroed.
enum ExportCommand {
    static let spec = CommandSpec(
        name: "export", summary: "Write a GGUF copy of a model with a compression plan applied.",
        options: [
            OptionSpec("model", value: "PATH", help: "GGUF model file to read.", required: true),
            OptionSpec(
                "plan", value: "FILE", help: "Compression plan (JSON) naming the sub-blocks to drop.", required: true),
            OptionSpec(
                "out", value: "PATH", help: "GGUF file to write; replaced atomically if it exists.", required: true),
            .flag("json", help: "Print the summary as one JSON object."),
        ])

    struct Report: Encodable {
        let model: String
        let plan: String
        let out: String
        let layers_before: Int
        let layers_after: Int
        let kept_layers: [Int]
        let tensors: Int
        let zeroed_tensors: [String]
    }

    static func run(_ arguments: ArraySlice<String>) throws -> Int32 {
        guard let options = try parseOrHelp(spec, arguments) else { return ExitCode.success }
        let modelPath = try options.required("model")
        let planPath = try options.required("plan")
        let outputPath = try options.required("out")
        guard outputPath != modelPath else {
            throw UsageError("--out names the input model \(modelPath); write the export to another path")
        }

        let plan = try CompressionPlan.load(path: planPath)
        let summary = try GGUFExporter.export(try GGUFFile(path: modelPath), plan: plan, to: outputPath)
        if options.flag("json") {
            print(
                try jsonLine(
                    Report(
                        model: modelPath, plan: planPath, out: outputPath, layers_before: summary.layersBefore,
                        layers_after: summary.layersAfter, kept_layers: summary.keptLayers,
                        tensors: summary.tensorCount, zeroed_tensors: summary.zeroedTensors)))
        } else {
            print(
                "wrote \(outputPath): \(summary.layersAfter) of \(summary.layersBefore) layers, "
                    + "\(summary.tensorCount) tensors, \(summary.zeroedTensors.count) output projections zeroed")
        }
        return ExitCode.success
    }
}
