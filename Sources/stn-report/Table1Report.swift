import ArgumentParser
import Foundation
import STNCommandLine
import STNData
import STNEngine
import STNImage
import STNModel
import STNPlan

/// The paper's Table 1 beside ours: the last epoch's test error of every cell under
/// Weights/table1/<distortion>/<model>.csv, and one figure of every cell's test-error curve.
struct Table1Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table1",
        abstract: "Table 1 of Jaderberg et al. (2015) next to ours, and one figure of all training curves.",
        discussion: """
            Reads each finished cell's training log, Weights/table1/<r|rts|p|e>/<model>.csv (written by stn-train through tools/experiments/table1; a cell is finished once its .h5 exists), and prints a Markdown table of our test error at the last epoch next to the paper's, cells not yet finished marked with a dash. With --out it draws every cell's test error per epoch, one panel per distortion.
            """)

    @Option(help: "The folder holding <distortion>/<model>.csv.") var directory: String = "Weights/table1"
    @Option(help: "Write the figure of all curves (PNG).") var out: String?
    @Flag(
        help:
            "Also draw, per distortion, what each trained ST-CNN's transform made of the first test digits: <directory>/<d>/transforms.png."
    )
    var figures = false
    @Option(help: "MNIST directory for --figures (default: $STN_DATA, else ./Data/mnist).") var data: String?

    static let distortions = ["r", "rts", "p", "e"]
    /// The paper's percentages, R / RTS / P / E.
    static let paper: [(String, [Double])] = [
        ("fcn", [2.1, 5.2, 3.1, 3.2]), ("cnn", [1.2, 0.8, 1.5, 1.4]),
        ("st-fcn-affine", [1.2, 0.8, 1.5, 2.7]), ("st-fcn-projective", [1.3, 0.9, 1.4, 2.6]),
        ("st-fcn-tps", [1.1, 0.8, 1.4, 2.4]), ("st-cnn-affine", [0.7, 0.5, 0.8, 1.2]),
        ("st-cnn-projective", [0.8, 0.6, 0.8, 1.3]), ("st-cnn-tps", [0.7, 0.5, 0.8, 1.1]),
    ]

    /// (epoch, test error %) per epoch of one cell, or nil if it has no log.
    func curve(_ distortion: String, _ model: String) -> [(Double, Double)]? {
        guard let text = try? String(contentsOfFile: "\(directory)/\(distortion)/\(model).csv", encoding: .utf8) else {
            return nil
        }
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        let points = rows.compactMap { fields -> (Double, Double)? in
            guard fields.count >= 5, let epoch = Double(fields[0]), let accuracy = Double(fields[4]) else { return nil }
            return (epoch, (1 - accuracy) * 100)
        }
        return points.isEmpty ? nil : points
    }

    func run() throws {
        var lines = [
            "| model | R | RTS | P | E |", "| --- | --- | --- | --- | --- |",
        ]
        for (model, paper) in Self.paper {
            var cells: [String] = []
            for (i, distortion) in Self.distortions.enumerated() {
                // A cell counts once its weights are written (at the end of training).
                let finished = FileManager.default.fileExists(atPath: "\(directory)/\(distortion)/\(model).h5")
                let ours = finished ? curve(distortion, model).map { String(format: "%.2f", $0.last!.1) } ?? "-" : "-"
                cells.append("\(ours) (\(String(format: "%.1f", paper[i])))")
            }
            lines.append("| \(model) | " + cells.joined(separator: " | ") + " |")
        }
        if FileManager.default.fileExists(atPath: "\(directory)/rts/st-cnn-attention.h5"),
            let attention = curve("rts", "st-cnn-attention")
        {
            lines.append(String(format: "| st-cnn-attention | | %.2f | | |", attention.last!.1))
        }
        try writeStandardOutputLine("Test error %, ours (the paper's), of the finished cells:")
        try writeStandardOutputLine(lines.joined(separator: "\n"))
        if figures { try drawTransforms() }
        guard let out else { return }
        let colors: [RGB] = [
            .gray, .black, RGB(158, 218, 229), RGB(23, 190, 207), .blue, RGB(255, 187, 120), .orange, .red,
            .green,
        ]
        var panels: [Canvas] = []
        for distortion in Self.distortions {
            var plot = LinePlot(title: "\(distortion.uppercased()): test error", xLabel: "epoch", yLabel: "error %")
            plot.logY = true
            for (index, model) in (Self.paper.map(\.0) + ["st-cnn-attention"]).enumerated() {
                guard let points = curve(distortion, model) else { continue }
                plot.add(series: model, points: points, color: colors[index % colors.count])
            }
            panels.append(plot.render(width: 560, height: 420))
        }
        let top = Canvas.sideBySide(Array(panels[0 ..< 2]))
        let bottom = Canvas.sideBySide(Array(panels[2 ..< 4]))
        var figure = Canvas(width: max(top.width, bottom.width), height: top.height + bottom.height, background: .white)
        figure.draw(top, atX: 0, y: 0)
        figure.draw(bottom, atX: 0, y: top.height)
        try figure.writePNG(to: out)
        try writeStandardOutputLine("wrote \(out)")
    }

    /// Per distortion: the first test digits, and for each trained ST-CNN the region its
    /// transform samples (the outline, or the spline's warped grid) and what it made of it.
    func drawTransforms() throws {
        let mnist = try MNIST.resolveDirectory(data)
        let t10k = try MNIST.load(split: .test, directory: mnist)
        for distortion in Self.distortions {
            let models = ["attention", "affine", "projective", "tps"].map { "st-cnn-\($0)" }.filter {
                FileManager.default.fileExists(atPath: "\(cellFolder(distortion))/\($0).h5")
            }
            guard !models.isEmpty, let draw = DigitDistortions.named(distortion, seed: 1) else { continue }
            let count = 8
            let images = draw.distort(t10k.images.prefix(count), epoch: 0, threads: 1)
            let side = images.rows
            let scale = max(2, 96 / side)
            let cell = side * scale
            let gap = 8
            let header = 22
            let columns = 1 + 2 * models.count
            var canvas = Canvas(
                width: gap + columns * (cell + gap), height: header + count * (cell + gap) + gap, background: .white)
            canvas.text("input", x: gap, y: 6)
            for (m, model) in models.enumerated() {
                canvas.text(String(model.dropFirst(7)), x: gap + (1 + 2 * m) * (cell + gap), y: 6)
            }
            let engines = try models.map { try Engine(weightsAt: "\(cellFolder(distortion))/\($0).h5", threads: 1) }
            var result = InferenceResult()
            for row in 0 ..< count {
                let pixels = Array(images.image(row))
                let y = header + row * (cell + gap)
                canvas.drawGray(pixels, width: side, height: side, atX: gap, y: y, scale: scale)
                for (m, engine) in engines.enumerated() {
                    pixels.withUnsafeBufferPointer { engine.infer(pixels: $0.baseAddress!, into: &result) }
                    let x = gap + (1 + 2 * m) * (cell + gap)
                    canvas.drawGray(pixels, width: side, height: side, atX: x, y: y, scale: scale)
                    let kind = engine.architecture.transforms.first ?? .affine
                    let size = Double(cell)
                    func place(_ p: (Float, Float)) -> (Double, Double) {
                        let px = Double(x) + (Double(p.0) + 1) / 2 * size
                        let py = Double(y) + (Double(p.1) + 1) / 2 * size
                        return (px, py)
                    }
                    for line in transformOutline(result.thetaValues, kind: kind) {
                        let points = line.map(place)
                        guard points.allSatisfy({ $0.0.isFinite && $0.1.isFinite }) else { continue }
                        for (a, b) in zip(points, points.dropFirst()) { canvas.line(from: a, to: b, color: RGB.red) }
                    }
                    let shape = engine.sampledShape ?? TensorShape(channels: 1, height: side, width: side)
                    canvas.drawGray(
                        floats: Array(engine.lastSampled), width: shape.width, height: shape.height,
                        atX: x + cell + gap, y: y, scale: cell / max(shape.width, 1))
                    let correct = result.digit == Int(t10k.labels[row])
                    let color: RGB = correct ? .green : .red
                    _ = canvas.text("\(result.digit)", x: x + 2 * cell + gap - 8, y: y + 2, color: color)
                }
            }
            let path = "\(cellFolder(distortion))/transforms.png"
            try canvas.writePNG(to: path)
            try writeStandardOutputLine("wrote \(path)")
        }
    }

    private func cellFolder(_ distortion: String) -> String { "\(directory)/\(distortion)" }
}
