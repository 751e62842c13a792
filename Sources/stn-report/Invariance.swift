import ArgumentParser
import Foundation
import STNData
import STNImage
import STNModel

/// Accuracy as a function of the RTS rotation angle and scale, per model: where the
/// transformer helps.
struct Invariance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy of each model binned by rotation angle and by scale over the fixed RTS test set.",
        discussion: "Draws the fixed RTS test set (MNIST t10k, seed 1), runs every --weights file on it, and bins correct answers by each image's rotation angle (10-degree bins) and scale (0.05 bins). Prints the table and writes a two-panel PNG.")

    @Option(name: .customLong("weights"), help: "A weight file; repeat for several models.") var weights: [String] = []
    @Option(help: "MNIST directory (default: $STN_DATA, else ./Data/mnist).") var data: String?
    @Option(help: "Output PNG.") var out: String
    @Option(help: "Threads.") var threads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    func validate() throws {
        guard !weights.isEmpty else { throw ValidationError("give at least one --weights FILE") }
    }

    func run() throws {
        let files = try weights.map { ($0, try WeightFile.read($0)) }
        let test = try FixedTestSet(data: data, threads: threads)

        var anglePlot = LinePlot(title: "accuracy vs rotation", xLabel: "rotation angle (degrees)", yLabel: "accuracy %")
        var scalePlot = LinePlot(title: "accuracy vs scale", xLabel: "scale", yLabel: "accuracy %")
        anglePlot.legendAtBottom = true
        scalePlot.legendAtBottom = true
        for (n, (path, file)) in files.enumerated() {
            let results = try test.results(file.weights, threads: threads)
            let correct = results.indices.map { results[$0].digit == Int(test.labels[$0]) ? 100.0 : 0 }
            let name = "\(file.architecture.kind.rawValue) (\((path as NSString).lastPathComponent))"
            print(String(format: "%@: %.2f%% overall", name, correct.reduce(0, +) / Double(correct.count)))
            let byAngle = test.binned(FixedTestSet.angleBins, by: \.angleDegrees) { correct[$0] }
            let byScale = test.binned(FixedTestSet.scaleBins, by: \.scale) { correct[$0] }
            for (bin, (a, count)) in zip(FixedTestSet.angleBins, byAngle) {
                print(String(format: "  angle %+4.0f..%+4.0f: %6.2f%% (%d images)", bin.lowerBound, bin.upperBound, a, count))
            }
            for (bin, (a, count)) in zip(FixedTestSet.scaleBins, byScale) {
                print(String(format: "  scale %.2f..%.2f: %6.2f%% (%d images)", bin.lowerBound, bin.upperBound, a, count))
            }
            let color = RGB.series[n % RGB.series.count]
            anglePlot.add(series: name, points: zip(FixedTestSet.angleBins, byAngle).map { (($0.lowerBound + $0.upperBound) / 2, $1.mean) }, color: color)
            scalePlot.add(series: name, points: zip(FixedTestSet.scaleBins, byScale).map { (($0.lowerBound + $0.upperBound) / 2, $1.mean) }, color: color)
        }
        try Canvas.sideBySide([anglePlot.render(width: 560, height: 400), scalePlot.render(width: 560, height: 400)]).writePNG(to: out)
        print("wrote \(out)")
    }
}
