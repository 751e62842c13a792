import ArgumentParser
import STNCommandLine
import Foundation
import STNData
import STNEngine
import STNImage
import STNModel

@main
struct ReportCommand: ParsableCommand {
    static func main() { runTool(ReportCommand.self, name: "stn-report") }

    static let configuration = CommandConfiguration(
        commandName: "stn-report",
        abstract: "Figures about trained models.",
        subcommands: [Invariance.self])
}

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
        try report()
    }

    func report() throws {
        let files = try weights.map { ($0, try WeightFile.read($0)) }
        let test = try MNIST.load(split: .test, directory: try MNIST.resolveDirectory(data))
        let rts = RTSDistortion(seed: 1)
        let images = rts.distort(test.images, threads: threads)
        let parameters = (0 ..< images.count).map { rts.parameters(index: $0) }
        let angleBins = stride(from: -45.0, to: 45.0, by: 10.0).map { $0 ... $0 + 10 }
        let scaleBins = stride(from: 0.7, to: 1.2 - 1e-9, by: 0.05).map { $0 ... $0 + 0.05 }

        var anglePlot = LinePlot(title: "accuracy vs rotation", xLabel: "rotation angle (degrees)", yLabel: "accuracy %")
        var scalePlot = LinePlot(title: "accuracy vs scale", xLabel: "scale", yLabel: "accuracy %")
        anglePlot.legendAtBottom = true
        scalePlot.legendAtBottom = true
        let colors: [RGB] = [.red, .blue, .green, .orange, .gray]
        for (n, (path, file)) in files.enumerated() {
            let engine = try Engine(weights: file.weights, threads: threads)
            var results = [InferenceResult](repeating: InferenceResult(), count: images.count)
            images.pixels.withUnsafeBufferPointer { engine.inferBatch(pixels: $0.baseAddress!, count: images.count, results: &results, threads: threads) }
            let correct = results.indices.map { results[$0].digit == Int(test.labels[$0]) }
            func accuracy(_ inBin: (RTSParameters) -> Bool) -> (Double, Int) {
                let members = correct.indices.filter { inBin(parameters[$0]) }
                return (Double(members.filter { correct[$0] }.count) / Double(max(1, members.count)) * 100, members.count)
            }
            let name = "\(file.architecture.kind.rawValue) (\((path as NSString).lastPathComponent))"
            let overall = Double(correct.filter { $0 }.count) / Double(correct.count) * 100
            print(String(format: "%@: %.2f%% overall", name, overall))
            var anglePoints: [(Double, Double)] = [], scalePoints: [(Double, Double)] = []
            for bin in angleBins {
                let (a, count) = accuracy { bin.contains($0.angleDegrees) && $0.angleDegrees < bin.upperBound }
                anglePoints.append(((bin.lowerBound + bin.upperBound) / 2, a))
                print(String(format: "  angle %+4.0f..%+4.0f: %6.2f%% (%d images)", bin.lowerBound, bin.upperBound, a, count))
            }
            for bin in scaleBins {
                let (a, count) = accuracy { bin.contains($0.scale) && $0.scale < bin.upperBound }
                scalePoints.append(((bin.lowerBound + bin.upperBound) / 2, a))
                print(String(format: "  scale %.2f..%.2f: %6.2f%% (%d images)", bin.lowerBound, bin.upperBound, a, count))
            }
            anglePlot.add(series: name, points: anglePoints, color: colors[n % colors.count])
            scalePlot.add(series: name, points: scalePoints, color: colors[n % colors.count])
        }
        let left = anglePlot.render(width: 560, height: 400), right = scalePlot.render(width: 560, height: 400)
        var canvas = Canvas(width: left.width + right.width, height: left.height, background: .white)
        canvas.draw(left, atX: 0, y: 0)
        canvas.draw(right, atX: left.width, y: 0)
        try canvas.writePNG(to: out)
        print("wrote \(out)")
    }
}
