import ArgumentParser
import Foundation
import STNCommandLine
import STNData
import STNImage
import STNModel

/// Accuracy as a function of the RTS rotation angle and scale, per model: where the
/// transformer helps.
struct Invariance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy of each model binned by rotation angle and by scale over the fixed RTS test set.",
        discussion:
            "Draws the fixed RTS test set (MNIST t10k, seed 1), runs every --weights file on it, and bins correct answers by each image's rotation angle (10-degree bins) and scale (0.05 bins). Prints the table and writes a two-panel PNG."
    )

    @OptionGroup var options: ReportOptions

    func run() throws {
        let files = try options.models()
        let test = try FixedTestSet(data: options.data, threads: options.threads)

        var anglePlot = LinePlot(
            title: "accuracy vs rotation", xLabel: "rotation angle (degrees)", yLabel: "accuracy %")
        var scalePlot = LinePlot(title: "accuracy vs scale", xLabel: "scale", yLabel: "accuracy %")
        anglePlot.legendAtBottom = true
        scalePlot.legendAtBottom = true
        for (n, (path, file)) in files.enumerated() {
            let results = try test.results(file.weights, threads: options.threads)
            let correct = results.indices.map { results[$0].digit == Int(test.labels[$0]) ? 100.0 : 0 }
            let name = "\(file.architecture.name) (\(ReportOptions.name(path)))"
            try writeStandardOutputLine(
                String(format: "%@: %.2f%% overall", name, correct.reduce(0, +) / Double(correct.count)))
            let byAngle = test.binned(FixedTestSet.angleBins, by: \.angleDegrees) { correct[$0] }
            let byScale = test.binned(FixedTestSet.scaleBins, by: \.scale) { correct[$0] }
            for (bin, (a, count)) in zip(FixedTestSet.angleBins, byAngle) {
                try writeStandardOutputLine(
                    String(
                        format: "  angle %+4.0f..%+4.0f: %6.2f%% (%d images)", bin.lowerBound, bin.upperBound, a, count)
                )
            }
            for (bin, (a, count)) in zip(FixedTestSet.scaleBins, byScale) {
                try writeStandardOutputLine(
                    String(format: "  scale %.2f..%.2f: %6.2f%% (%d images)", bin.lowerBound, bin.upperBound, a, count))
            }
            let color = RGB.series[n % RGB.series.count]
            anglePlot.add(
                series: name,
                points: zip(FixedTestSet.angleBins, byAngle).map { (($0.lowerBound + $0.upperBound) / 2, $1.mean) },
                color: color)
            scalePlot.add(
                series: name,
                points: zip(FixedTestSet.scaleBins, byScale).map { (($0.lowerBound + $0.upperBound) / 2, $1.mean) },
                color: color)
        }
        try Canvas.sideBySide([anglePlot.render(width: 560, height: 400), scalePlot.render(width: 560, height: 400)])
            .writePNG(to: options.out)
        try writeStandardOutputLine("wrote \(options.out)")
    }
}
