import Foundation

/// A minimal SVG line plot: one or more series of (x, y) points on shared linear axes, with ticks, axis
/// labels, a title and a legend. The output is a standalone SVG 1.1 document that browsers render as is.
///
/// Points whose x or y is NaN or infinite are left out. An axis whose values are all equal gets a range
/// around that value, so a single point or a flat series still renders.
public struct SVGLinePlot: Sendable {
    /// One line of the plot.
    public struct Series: Sendable, Equatable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Any SVG colour, for example `#1f77b4`.
        public var color: String

        public init(name: String, points: [(x: Double, y: Double)], color: String) {
            self.name = name
            self.points = points
            self.color = color
        }

        public static func == (lhs: Series, rhs: Series) -> Bool {
            lhs.name == rhs.name && lhs.color == rhs.color && lhs.points.count == rhs.points.count
                && zip(lhs.points, rhs.points).allSatisfy { $0.x == $1.x && $0.y == $1.y }
        }
    }

    /// Colours given to series in order (the matplotlib "tab10" palette), repeated when there are more series.
    public static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series] = []
    /// Size of the whole picture in pixels.
    public var width = 640
    public var height = 400

    /// Margins around the plotting area in pixels: room for the title, tick labels and axis labels.
    static let margin = (left: 72.0, right: 24.0, top: 40.0, bottom: 56.0)

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    /// Appends a series, coloured from `palette` unless `color` is given.
    public mutating func addSeries(_ name: String, points: [(x: Double, y: Double)], color: String? = nil) {
        let chosen = color ?? Self.palette[series.count % Self.palette.count]
        series.append(Series(name: name, points: points, color: chosen))
    }

    // MARK: - Rendering

    /// Renders the plot as an SVG document.
    public func render() -> String {
        let finite = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let xAxis = PlotAxis(values: finite.map(\.x))
        let yAxis = PlotAxis(values: finite.map(\.y))
        let frame = PlotFrame(width: Double(width), height: Double(height), x: xAxis, y: yAxis)

        var lines: [String] = []
        lines.append(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
                + "viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\" font-size=\"12\">")
        lines.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
        lines.append(
            "<text x=\"\(Self.format(Double(width) / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">"
                + "\(Self.escape(title))</text>")
        lines += axisElements(frame)
        for entry in series {
            lines += seriesElements(entry, frame: frame)
        }
        lines += legendElements(frame)
        lines.append("</svg>")
        return lines.joined(separator: "\n") + "\n"
    }

    private func axisElements(_ frame: PlotFrame) -> [String] {
        var lines: [String] = []
        let left = frame.left
        let right = frame.right
        let top = frame.top
        let bottom = frame.bottom
        lines.append(
            "<rect x=\"\(Self.format(left))\" y=\"\(Self.format(top))\" width=\"\(Self.format(right - left))\" "
                + "height=\"\(Self.format(bottom - top))\" fill=\"none\" stroke=\"#444\"/>")

        for tick in frame.x.ticks {
            let x = frame.pixelX(tick)
            lines.append(
                "<line x1=\"\(Self.format(x))\" y1=\"\(Self.format(bottom))\" x2=\"\(Self.format(x))\" "
                    + "y2=\"\(Self.format(bottom + 5))\" stroke=\"#444\"/>")
            lines.append(
                "<text x=\"\(Self.format(x))\" y=\"\(Self.format(bottom + 18))\" text-anchor=\"middle\">"
                    + "\(Self.tickLabel(tick, step: frame.x.step))</text>")
        }

        for tick in frame.y.ticks {
            let y = frame.pixelY(tick)
            lines.append(
                "<line x1=\"\(Self.format(left - 5))\" y1=\"\(Self.format(y))\" x2=\"\(Self.format(right))\" "
                    + "y2=\"\(Self.format(y))\" stroke=\"#ddd\"/>")
            lines.append(
                "<text x=\"\(Self.format(left - 8))\" y=\"\(Self.format(y + 4))\" text-anchor=\"end\">"
                    + "\(Self.tickLabel(tick, step: frame.y.step))</text>")
        }

        lines.append(
            "<text x=\"\(Self.format((left + right) / 2))\" y=\"\(Self.format(Double(height) - 12))\" "
                + "text-anchor=\"middle\">\(Self.escape(xLabel))</text>")
        let middle = (top + bottom) / 2
        lines.append(
            "<text x=\"16\" y=\"\(Self.format(middle))\" text-anchor=\"middle\" "
                + "transform=\"rotate(-90 16 \(Self.format(middle)))\">\(Self.escape(yLabel))</text>")
        return lines
    }

    private func seriesElements(_ entry: Series, frame: PlotFrame) -> [String] {
        let points = entry.points.filter { $0.x.isFinite && $0.y.isFinite }
        guard !points.isEmpty else { return [] }
        let coordinates = points.map { "\(Self.format(frame.pixelX($0.x))),\(Self.format(frame.pixelY($0.y)))" }
        var lines = [
            "<polyline fill=\"none\" stroke=\"\(Self.escape(entry.color))\" stroke-width=\"2\" "
                + "points=\"\(coordinates.joined(separator: " "))\"/>"
        ]
        for point in points {
            lines.append(
                "<circle cx=\"\(Self.format(frame.pixelX(point.x)))\" cy=\"\(Self.format(frame.pixelY(point.y)))\" "
                    + "r=\"3\" fill=\"\(Self.escape(entry.color))\"/>")
        }
        return lines
    }

    private func legendElements(_ frame: PlotFrame) -> [String] {
        var lines: [String] = []
        for (index, entry) in series.enumerated() {
            let y = frame.top + 16 + Double(index) * 18
            let x = frame.right - 160
            lines.append(
                "<line x1=\"\(Self.format(x))\" y1=\"\(Self.format(y - 4))\" x2=\"\(Self.format(x + 20))\" "
                    + "y2=\"\(Self.format(y - 4))\" stroke=\"\(Self.escape(entry.color))\" stroke-width=\"2\"/>")
            lines.append(
                "<text x=\"\(Self.format(x + 26))\" y=\"\(Self.format(y))\">\(Self.escape(entry.name))</text>")
        }
        return lines
    }

    // MARK: - Text

    /// Escapes the five characters XML reserves.
    public static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Formats a pixel coordinate with two decimals, trailing zeros removed.
    static func format(_ value: Double) -> String {
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }

    /// Formats a tick value with as many decimals as the tick step needs.
    static func tickLabel(_ value: Double, step: Double) -> String {
        let decimals = step >= 1 ? 0 : min(12, Int((-log10(step)).rounded(.up)))
        let text = String(format: "%.\(decimals)f", value)
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
    }
}

/// The range and ticks of one axis: "nice" steps of 1, 2 or 5 times a power of ten, about five ticks.
struct PlotAxis: Sendable {
    let lower: Double
    let upper: Double
    let step: Double

    init(values: [Double]) {
        var low = values.min() ?? 0
        var high = values.max() ?? 1
        if low == high {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            low -= pad
            high += pad
        }
        let step = Self.niceStep(for: (high - low) / 5)
        self.step = step
        self.lower = (low / step).rounded(.down) * step
        self.upper = (high / step).rounded(.up) * step
    }

    /// Returns the smallest of 1, 2, 5 or 10 times a power of ten that is at least `rough`.
    static func niceStep(for rough: Double) -> Double {
        let power = pow(10, (log10(rough)).rounded(.down))
        for factor in [1.0, 2, 5, 10] where factor * power >= rough * (1 - 1e-9) {
            return factor * power
        }
        return 10 * power
    }

    /// Tick positions from `lower` to `upper`, computed by index so rounding errors do not accumulate.
    var ticks: [Double] {
        let count = Int(((upper - lower) / step).rounded())
        return (0...count).map { lower + Double($0) * step }
    }
}

/// Maps data coordinates to pixels inside the plot's margins.
struct PlotFrame {
    let left: Double
    let right: Double
    let top: Double
    let bottom: Double
    let x: PlotAxis
    let y: PlotAxis

    init(width: Double, height: Double, x: PlotAxis, y: PlotAxis) {
        let margin = SVGLinePlot.margin
        left = margin.left
        right = width - margin.right
        top = margin.top
        bottom = height - margin.bottom
        self.x = x
        self.y = y
    }

    func pixelX(_ value: Double) -> Double {
        left + (value - x.lower) / (x.upper - x.lower) * (right - left)
    }

    /// SVG's y axis points down, so larger values sit nearer the top.
    func pixelY(_ value: Double) -> Double {
        bottom - (value - y.lower) / (y.upper - y.lower) * (bottom - top)
    }
}
