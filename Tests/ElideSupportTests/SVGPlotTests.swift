import Foundation
import Testing

@testable import ElideSupport

#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite struct SVGPlotTests {
    /// Parses the `points` attribute of every polyline into pixel pairs.
    func polylines(_ svg: String) -> [[(Double, Double)]] {
        svg.split(separator: "\n").filter { $0.hasPrefix("<polyline") }.map { line in
            let start = line.range(of: "points=\"")!.upperBound
            let end = line[start...].firstIndex(of: "\"")!
            return line[start..<end].split(separator: " ").map { pair in
                let numbers = pair.split(separator: ",").map { Double($0)! }
                return (numbers[0], numbers[1])
            }
        }
    }

    @Test func documentIsWellFormedXML() throws {
        var plot = SVGLinePlot(title: "Best <fitness> & \"median\"", xLabel: "generation", yLabel: "KL")
        plot.addSeries("best", points: [(0, 0.9), (1, 0.5), (2, 0.4)])
        plot.addSeries("median", points: [(0, 1.4), (1, 1.1), (2, 0.8)])
        let svg = plot.render()
        let document = try XMLDocument(data: Data(svg.utf8))
        #expect(document.rootElement()?.name == "svg")
        #expect(svg.contains("Best &lt;fitness&gt; &amp; &quot;median&quot;"))
        #expect(polylines(svg).count == 2)
    }

    @Test func pointsMapIntoPlotAreaWithYUp() {
        var plot = SVGLinePlot(title: "t", xLabel: "x", yLabel: "y")
        plot.addSeries("line", points: [(0, 0), (10, 1), (5, 0.5)])
        let line = polylines(plot.render())[0]
        let margin = SVGLinePlot.margin
        // Axis ranges are [0, 10] and [0, 1], which are already on nice ticks.
        #expect(line[0].0 == margin.left)
        #expect(line[0].1 == Double(plot.height) - margin.bottom)
        #expect(line[1].0 == Double(plot.width) - margin.right)
        #expect(line[1].1 == margin.top)
        #expect(abs(line[2].0 - (line[0].0 + line[1].0) / 2) < 0.01)
        #expect(abs(line[2].1 - (line[0].1 + line[1].1) / 2) < 0.01)
    }

    @Test func nonFinitePointsAreSkipped() {
        var plot = SVGLinePlot(title: "t", xLabel: "x", yLabel: "y")
        plot.addSeries("gappy", points: [(0, 1), (1, .nan), (2, .infinity), (3, 2)])
        let svg = plot.render()
        #expect(polylines(svg)[0].count == 2)
        #expect(!svg.contains("nan"))
        #expect(!svg.contains("inf"))
    }

    @Test func flatAndSinglePointSeriesRender() {
        var plot = SVGLinePlot(title: "t", xLabel: "x", yLabel: "y")
        plot.addSeries("one", points: [(3, 0.25)])
        let line = polylines(plot.render())[0]
        #expect(line.count == 1)
        let margin = SVGLinePlot.margin
        #expect(line[0].0 > margin.left && line[0].0 < Double(plot.width) - margin.right)
        #expect(line[0].1 > margin.top && line[0].1 < Double(plot.height) - margin.bottom)
    }

    @Test func emptyPlotStillRendersAxes() throws {
        let svg = SVGLinePlot(title: "empty", xLabel: "x", yLabel: "y").render()
        _ = try XMLDocument(data: Data(svg.utf8))
        #expect(polylines(svg).isEmpty)
        #expect(svg.contains("<rect x="))
    }

    @Test func axisTicksUseNiceSteps() {
        let axis = PlotAxis(values: [0.013, 0.87])
        #expect(axis.step == 0.2)
        #expect(axis.lower == 0)
        #expect(abs(axis.upper - 1.0) < 1e-12)
        #expect(axis.ticks.count == 6)
        #expect(PlotAxis.niceStep(for: 3.2) == 5)
        #expect(PlotAxis.niceStep(for: 20) == 20)
        #expect(PlotAxis.niceStep(for: 0.011) == 0.02)
    }

    @Test func tickLabelsShowStepDecimals() {
        #expect(SVGLinePlot.tickLabel(0.4, step: 0.2) == "0.4")
        #expect(SVGLinePlot.tickLabel(12, step: 2) == "12")
        #expect(SVGLinePlot.tickLabel(0.05, step: 0.01) == "0.05")
        #expect(SVGLinePlot.tickLabel(-0.0000001, step: 0.1) == "0.0")
    }

    @Test func seriesColorsFollowPalette() {
        var plot = SVGLinePlot(title: "t", xLabel: "x", yLabel: "y")
        plot.addSeries("a", points: [(0, 0)])
        plot.addSeries("b", points: [(0, 0)], color: "red")
        plot.addSeries("c", points: [(0, 0)])
        #expect(plot.series.map(\.color) == [SVGLinePlot.palette[0], "red", SVGLinePlot.palette[2]])
    }
}
