import ArgumentParser
import Foundation
import STNImage

/// The paper's Table 1 beside ours: the last epoch's test error of every cell under
/// Weights/table1/<distortion>/<model>.csv, and one figure of every cell's test-error curve.
struct Table1Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table1",
        abstract: "Table 1 of Jaderberg et al. (2015) next to ours, and one figure of all training curves.",
        discussion: """
            Reads each cell's training log, Weights/table1/<r|rts|p|e>/<model>.csv (written by stn-train through tools/table1), and prints a Markdown table of our test error at the last epoch next to the paper's, cells not yet trained marked with a dash. With --out it draws every cell's test error per epoch, one panel per distortion.
            """)

    @Option(help: "The folder holding <distortion>/<model>.csv.") var directory: String = "Weights/table1"
    @Option(help: "Write the figure of all curves (PNG).") var out: String?

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
                let ours = curve(distortion, model).map { String(format: "%.2f", $0.last!.1) } ?? "-"
                cells.append("\(ours) (\(String(format: "%.1f", paper[i])))")
            }
            lines.append("| \(model) | " + cells.joined(separator: " | ") + " |")
        }
        if let attention = curve("rts", "st-cnn-attention") {
            lines.append(String(format: "| st-cnn-attention | | %.2f | | |", attention.last!.1))
        }
        print("Test error %, ours (the paper's) at the last epoch trained:")
        print(lines.joined(separator: "\n"))
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
        print("wrote \(out)")
    }
}
