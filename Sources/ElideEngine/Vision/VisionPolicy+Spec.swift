import Foundation

extension VisionPolicy {
    /// Parses a command-line spec: `METHOD`, `METHOD:VALUE` or `METHOD:KEY=VALUE,KEY=VALUE`.
    ///
    /// Keys are the JSON field names; a list is written with `/` (`reduction_layers=3/6/9`) and YOPO's pruned
    /// heads as `LAYER.HEAD` pairs (`pruned_heads=4.0/4.5`). A lone VALUE is the method's main setting: the
    /// keep rate of top-k, evit and clca, the budget of hired, random and spatial, the window of yopo.
    /// Examples: `evit:0.5`, `hired:budget=0.2,alpha=0.5`, `yopo:window=3,cls_only_from_layer=8`.
    public static func parse(spec: String) throws -> VisionPolicy {
        let source = "vision policy spec '\(spec)'"
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        guard let method = parts.first, !method.isEmpty else {
            throw VisionPolicyError(
                field: "method", "invalid \(source): the method is missing; expected for example evit:0.5")
        }
        guard fieldsByMethod[method] != nil else {
            throw VisionPolicyError(
                field: "method",
                "invalid \(source): unknown method '\(method)'; expected one of "
                    + fieldsByMethod.keys.sorted().joined(separator: ", "))
        }
        var object: [String: Any] = ["method": method]
        if parts.count == 2 {
            for pair in parts[1].split(separator: ",").map(String.init) {
                let keyValue = pair.split(separator: "=", maxSplits: 1).map(String.init)
                let key: String
                let text: String
                if keyValue.count == 2 {
                    (key, text) = (keyValue[0], keyValue[1])
                } else if let main = mainField[method], parts[1].split(separator: ",").count == 1 {
                    (key, text) = (main, keyValue[0])
                } else {
                    throw VisionPolicyError(
                        field: nil, "invalid \(source): '\(pair)' is not KEY=VALUE; see 'elide eval vision --help'")
                }
                object[key] = try value(of: key, text: text, source: source)
            }
        }
        let data = try JSONSerialization.data(withJSONObject: object)
        guard let policy = try decode(data, source: source).first else {
            throw VisionPolicyError(field: nil, "invalid \(source): it describes no policy")
        }
        return policy
    }

    /// The field a spec's lone value sets, by method.
    static let mainField = [
        "top-k": "keep_rate", "evit": "keep_rate", "clca": "keep_rate", "hired": "budget", "random": "budget",
        "spatial": "budget", "yopo": "window",
    ]

    /// Returns the JSON value of one spec setting: a number, a list of whole numbers, or pruned heads by layer.
    private static func value(of key: String, text: String, source: String) throws -> Any {
        func invalid(_ expected: String) -> VisionPolicyError {
            VisionPolicyError(field: key, "invalid \(source): '\(text)' for \(key) is not \(expected)")
        }
        switch key {
        case "reduction_layers", "window_layers":
            let layers = text.split(separator: "/").map { Int($0) }
            guard !layers.isEmpty, layers.allSatisfy({ $0 != nil }) else {
                throw invalid("a /-separated list of layers such as 3/6/9")
            }
            return layers.map { $0! }  // !-safe: checked above.
        case "pruned_heads":
            var byLayer: [String: [Int]] = [:]
            for pair in text.split(separator: "/") {
                let numbers = pair.split(separator: ".").map { Int($0) }
                guard numbers.count == 2, let layer = numbers[0], let head = numbers[1] else {
                    throw invalid("a /-separated list of LAYER.HEAD pairs such as 4.0/4.5")
                }
                byLayer[String(layer), default: []].append(head)
            }
            return byLayer
        default:
            if let whole = Int(text) { return whole }
            guard let number = Double(text), number.isFinite else { throw invalid("a number") }
            return number
        }
    }
}

extension VisionPolicy {
    /// Checks the settings that are invalid for any model.
    public func validateFields() throws {
        switch self {
        case .none:
            return
        case .topK(let settings), .evit(let settings), .clca(let settings):
            guard settings.keepRate > 0 && settings.keepRate <= 1 else {
                throw VisionPolicyError(
                    field: "keep_rate", "keep_rate \(settings.keepRate) is outside (0, 1]; use for example 0.5")
            }
            guard !settings.reductionLayers.isEmpty, settings.reductionLayers.allSatisfy({ $0 >= 0 }),
                Set(settings.reductionLayers).count == settings.reductionLayers.count
            else {
                throw VisionPolicyError(
                    field: "reduction_layers",
                    "reduction_layers \(settings.reductionLayers) must list distinct layers ≥ 0, such as [3, 6, 9]")
            }
        case .hired(let settings):
            guard settings.budget > 0 && settings.budget <= 1 else {
                throw VisionPolicyError(
                    field: "budget", "budget \(settings.budget) is outside (0, 1]; use for example 0.2")
            }
            guard settings.alpha >= 0 && settings.alpha <= 1 else {
                throw VisionPolicyError(field: "alpha", "alpha \(settings.alpha) is outside [0, 1]; HiRED uses 0.5")
            }
            guard settings.partitionsPerSide >= 1 && settings.partitionsPerSide <= 8 else {
                throw VisionPolicyError(
                    field: "partitions_per_side",
                    "partitions_per_side \(settings.partitionsPerSide) is outside 1...8; HiRED uses 2")
            }
            guard settings.allocationLayer >= 0, (settings.rankingLayer ?? 0) >= 0 else {
                throw VisionPolicyError(field: "allocation_layer", "allocation_layer and ranking_layer must be ≥ 0")
            }
        case .yopo(let settings):
            if let window = settings.window, window < 1 || window % 2 == 0 {
                throw VisionPolicyError(field: "window", "window \(window) must be an odd whole number ≥ 1, such as 3")
            }
            if settings.windowLayers != nil && settings.window == nil {
                throw VisionPolicyError(field: "window_layers", "window_layers is set but window is missing")
            }
            if let layer = settings.clsOnlyFromLayer, layer < 0 {
                throw VisionPolicyError(field: "cls_only_from_layer", "cls_only_from_layer \(layer) must be ≥ 0")
            }
        }
    }

    /// Checks the layer and head indices against a model with `layerCount` layers and `headCount` heads.
    public func validate(layerCount: Int, headCount: Int) throws {
        try validateFields()
        func checkLayers(_ layers: [Int], field: String) throws {
            if let bad = layers.first(where: { $0 >= layerCount }) {
                throw VisionPolicyError(
                    field: field, "\(field) names layer \(bad), but the model has layers 0...\(layerCount - 1)")
            }
        }
        switch self {
        case .none: return
        case .topK(let settings), .evit(let settings), .clca(let settings):
            try checkLayers(settings.reductionLayers, field: "reduction_layers")
        case .hired(let settings):
            try checkLayers([settings.allocationLayer], field: "allocation_layer")
            try checkLayers([settings.rankingLayer ?? 0], field: "ranking_layer")
        case .yopo(let settings):
            try checkLayers(settings.windowLayers ?? [], field: "window_layers")
            try checkLayers(Array(settings.prunedHeads.keys), field: "pruned_heads")
            try checkLayers(settings.clsOnlyFromLayer.map { [$0] } ?? [], field: "cls_only_from_layer")
            for (layer, heads) in settings.prunedHeads {
                if let bad = heads.first(where: { $0 < 0 || $0 >= headCount }) {
                    throw VisionPolicyError(
                        field: "pruned_heads",
                        "pruned_heads names head \(bad) in layer \(layer), but the model has heads 0...\(headCount - 1)"
                    )
                }
            }
        }
    }

    /// A short label for tables, such as `evit 0.5` or `hired 20%`.
    public var label: String {
        switch self {
        case .none: return "full"
        case .topK(let s), .evit(let s), .clca(let s): return "\(methodName) \(s.keepRate)"
        case .hired(let s): return "\(methodName) \(Int((s.budget * 100).rounded()))%"
        case .yopo(let s):
            var parts: [String] = []
            if let window = s.window { parts.append("w=\(window)") }
            if s.prunedHeadCount > 0 { parts.append("heads−\(s.prunedHeadCount)") }
            if let layer = s.clsOnlyFromLayer { parts.append("CLS-only from \(layer)") }
            return "yopo " + (parts.isEmpty ? "(no pruning)" : parts.joined(separator: ", "))
        }
    }
}
