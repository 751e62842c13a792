/// A confusion matrix drawn as a heat map: one row per true class, one column per
/// predicted class, each cell holding its count. The diagonal (right answers) is blue, as
/// dark as the share of the row's images it holds; the other cells (mistakes) are red, the
/// most frequent mistake darkest, so the few errors stand out beside the large diagonal.
/// Rows are labelled with the class names; columns with the names when they fit the cell,
/// else with the class numbers, which the row labels then carry too.
public enum ConfusionMatrixChart {
    public static func render(_ matrix: ConfusionMatrix, title: String = "confusion matrix") -> Canvas {
        let n = max(matrix.classCount, 1)
        let countWidth = Canvas.textWidth(String(matrix.counts.max() ?? 0))
        // Cells wide enough for the largest count, smaller for many classes.
        let cell = max(12, min(max(countWidth + 8, 28), 900 / n))
        let namesFit = matrix.classNames.allSatisfy { Canvas.textWidth($0) <= cell - 4 }
        let rowLabels = matrix.classNames.enumerated().map { namesFit ? $0.element : "\($0.offset) \($0.element)" }
        let columnLabels = matrix.classNames.enumerated().map { namesFit ? $0.element : String($0.offset) }
        let labelWidth = min(rowLabels.map { Canvas.textWidth($0) }.max() ?? 0, 160)
        let left = 24 + labelWidth + 8
        let top = 60
        let gridSide = cell * matrix.classCount
        let width = max(left + gridSide + 16, Canvas.textWidth(title) + 16, 360)
        let height = top + gridSide + 40
        var canvas = Canvas(width: width, height: height, background: .white)

        let summary = "\(title): \(ConfusionMatrix.percentText(matrix.accuracy)) of \(matrix.total) right"
        canvas.text(summary, x: max(4, (width - Canvas.textWidth(summary)) / 2), y: 8)
        let predicted = "predicted"
        canvas.text(predicted, x: left + (gridSide - Canvas.textWidth(predicted)) / 2, y: 28, color: .gray)
        // "true" down the left edge, one letter a line.
        for (i, letter) in "TRUE".enumerated() {
            canvas.text(String(letter), x: 6, y: top + gridSide / 2 - 16 + i * 9, color: .gray)
        }

        var largestMistake = 0
        for a in 0 ..< matrix.classCount {
            for p in 0 ..< matrix.classCount where p != a {
                largestMistake = max(largestMistake, matrix[actual: a, predicted: p])
            }
        }
        for a in 0 ..< matrix.classCount {
            let y = top + a * cell
            let label = fitted(rowLabels[a], width: labelWidth)
            canvas.text(label, x: left - 8 - Canvas.textWidth(label), y: y + (cell - 7) / 2)
            let rowTotal = matrix.imageCount(of: a)
            for p in 0 ..< matrix.classCount {
                let x = left + p * cell
                let count = matrix[actual: a, predicted: p]
                let strength: Double
                let hue: RGB
                if a == p {
                    strength = rowTotal == 0 ? 0 : Double(count) / Double(rowTotal)
                    hue = RGB(31, 90, 180)
                } else {
                    // Square root: one mistake is still visible beside the most frequent.
                    strength = largestMistake == 0 ? 0 : (Double(count) / Double(largestMistake)).squareRoot() * 0.85
                    hue = RGB(200, 40, 40)
                }
                let colour = blend(.white, hue, strength)
                canvas.fill(x: x, y: y, width: cell, height: cell, color: colour)
                let text = String(count)
                if count > 0, Canvas.textWidth(text) <= cell - 2 {
                    canvas.text(
                        text, x: x + (cell - Canvas.textWidth(text) + 1) / 2, y: y + (cell - 7) / 2,
                        color: strength > 0.55 ? .white : .black)
                }
            }
        }
        for p in 0 ..< matrix.classCount {
            let label = fitted(columnLabels[p], width: cell - 2)
            canvas.text(label, x: left + p * cell + (cell - Canvas.textWidth(label) + 1) / 2, y: top - 12)
        }
        // Grid lines and frame.
        for i in 0 ... matrix.classCount {
            canvas.fill(x: left + i * cell, y: top, width: 1, height: gridSide + 1, color: .lightGray)
            canvas.fill(x: left, y: top + i * cell, width: gridSide + 1, height: 1, color: .lightGray)
        }
        canvas.rectangle(x: left, y: top, width: gridSide + 1, height: gridSide + 1, color: .gray)
        let key = "blue: share of the class right   red: mistakes"
        canvas.text(fitted(key, width: width - 8), x: 4, y: top + gridSide + 16, color: .gray)
        return canvas
    }

    public static func writePNG(_ matrix: ConfusionMatrix, title: String = "confusion matrix", to path: String) throws {
        try render(matrix, title: title).writePNG(to: path)
    }

    /// `text` cut to `width` pixels of the font (ending in '.' when cut).
    static func fitted(_ text: String, width: Int) -> String {
        let fits = max(1, width / 6)
        return text.count <= fits ? text : String(text.prefix(max(1, fits - 1))) + "."
    }

    static func blend(_ a: RGB, _ b: RGB, _ t: Double) -> RGB {
        let t = min(max(t, 0), 1)
        func mix(_ x: UInt8, _ y: UInt8) -> UInt8 { UInt8((Double(x) * (1 - t) + Double(y) * t).rounded()) }
        return RGB(mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b))
    }
}
