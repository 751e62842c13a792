import ArgumentParser
import Foundation
import STNCommandLine
import STNData
import STNImage
import STNModel

/// How much of the RTS distortion each ST model's transformer undoes: the rotation and
/// scale its theta applies, against the rotation and scale each test image was drawn with.
struct TransformerReport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transformer",
        abstract: "How much rotation and scale the transformer of each ST model undoes on the fixed RTS test set.",
        discussion: """
            Runs every --weights file (ST models) on the fixed RTS test set (MNIST t10k, seed 1) and reads each theta as a rotation and a scale (stn-swift's AffinePose). Against each image's own RTS draw it reports the fraction of the rotation, of the log-scale and of the placement the transformer undoes (the least-squares slope: 1 undoes it all, 0 none) and how widely the angle and size of the digit the classifier sees still vary. The PNG plots, per 5-degree and 0.05-scale bin, the mean angle and size the classifier sees: the gray diagonal is a model without a transformer; a flat line is full invariance.
            """)

    @OptionGroup var options: ReportOptions

    func run() throws {
        let files = try options.models()
        for (path, file) in files where !file.architecture.hasTransformer {
            throw ValidationError("\(path): a \(file.architecture.name) model has no transformer")
        }
        let test = try FixedTestSet(data: options.data, threads: options.threads)
        let angleBins = stride(from: -45.0, to: 45.0, by: 5.0).map { $0 ..< $0 + 5 }
        let scaleBins = FixedTestSet.scaleBins
        let inputAngle = test.parameters.map(\.angleDegrees)
        let inputLogScale = test.parameters.map { log($0.scale) }
        // The digit's rotation centre (the middle of the 28x28 digit, pasted at the offset) in
        // normalised coordinates: where a centring transformer points the output's centre.
        let half = Double(RTSDistortion.canvasSize) / 2
        let centre = Double(RTSDistortion.digitSize) / 2
        let inputCentreX = test.parameters.map { (Double($0.offsetX) + centre) / half - 1 }
        let inputCentreY = test.parameters.map { (Double($0.offsetY) + centre) / half - 1 }

        var anglePlot = LinePlot(
            title: "angle the classifier sees", xLabel: "input rotation (degrees)", yLabel: "degrees")
        var scalePlot = LinePlot(title: "size the classifier sees", xLabel: "input scale", yLabel: "relative size")
        // The lines run from bottom left to top right: legends go bottom right.
        anglePlot.legendAtBottom = true
        scalePlot.legendAtBottom = true
        anglePlot.add(series: "no transformer", points: [(-45, -45), (45, 45)], color: .gray)
        scalePlot.add(series: "no transformer", points: [(0.7, 0.7), (1.2, 1.2)], color: .gray)
        try writeStandardOutputLine(
            String(
                format: "input: angle spread (std) %.1f deg, log-size spread %.3f", standardDeviation(inputAngle),
                standardDeviation(inputLogScale)))
        for (n, (path, file)) in files.enumerated() {
            let poses = try test.results(file.weights, threads: options.threads).map {
                AffinePose(theta: $0.thetaValues)
            }
            // What reaches the classifier: the input's rotation less the one theta undoes, and
            // its size divided by the side of the region theta samples.
            let seenAngle = poses.indices.map { inputAngle[$0] - poses[$0].rotationDegrees }
            let seenSize = poses.indices.map { test.parameters[$0].scale / poses[$0].scale }
            let name = ReportOptions.name(path)
            try writeStandardOutputLine(
                String(
                    format:
                        "%@: undoes %.0f%% of the rotation, %.0f%% of the log-scale and %.0f%%/%.0f%% of the x/y placement;",
                    name, 100 * slope(inputAngle, poses.map(\.rotationDegrees)),
                    100 * slope(inputLogScale, poses.map { log($0.scale) }),
                    100 * slope(inputCentreX, poses.map(\.translationX)),
                    100 * slope(inputCentreY, poses.map(\.translationY))))
            try writeStandardOutputLine(
                String(
                    format:
                        "  the classifier sees angles spread %.1f deg and log-sizes spread %.3f; mean zoom %.2f (below 1: magnified)",
                    standardDeviation(seenAngle), standardDeviation(seenSize.map(log)),
                    poses.reduce(0) { $0 + $1.scale } / Double(poses.count)))
            let color = RGB.series[n % RGB.series.count]
            let byAngle = test.binned(angleBins, by: \.angleDegrees) { seenAngle[$0] }
            let bySize = test.binned(scaleBins, by: \.scale) { seenSize[$0] }
            anglePlot.add(
                series: name, points: zip(angleBins, byAngle).map { (($0.lowerBound + $0.upperBound) / 2, $1.mean) },
                color: color)
            scalePlot.add(
                series: name, points: zip(scaleBins, bySize).map { (($0.lowerBound + $0.upperBound) / 2, $1.mean) },
                color: color)
        }
        try Canvas.sideBySide([anglePlot.render(width: 560, height: 400), scalePlot.render(width: 560, height: 400)])
            .writePNG(to: options.out)
        try writeStandardOutputLine("wrote \(options.out)")
    }

    /// Least-squares slope of y on x.
    private func slope(_ x: [Double], _ y: [Double]) -> Double {
        let mx = x.reduce(0, +) / Double(x.count)
        let my = y.reduce(0, +) / Double(y.count)
        var sxy = 0.0
        var sxx = 0.0
        for (a, b) in zip(x, y) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
        }
        return sxy / max(sxx, 1e-300)
    }

    private func standardDeviation(_ x: [Double]) -> Double {
        let m = x.reduce(0, +) / Double(x.count)
        return (x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count)).squareRoot()
    }
}
