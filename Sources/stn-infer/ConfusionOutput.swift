import STNCommandLine
import STNImage

/// --confusion FILE.png: the per-class accuracy after the overall one, and the confusion
/// matrix drawn (the same table and chart as stn-train's at the end of training).
enum ConfusionOutput {
    /// Draws the chart into `path` and returns the text to print: the table (text and csv
    /// output) or one JSON line per class (json).
    static func write(
        _ answers: [(predicted: Int, actual: Int)], classes: Int, classNames: [String]?, to path: String,
        format: InferCommand.Format
    ) throws -> String {
        let matrix = try ConfusionMatrix(
            predicted: answers.map(\.predicted), actual: answers.map(\.actual),
            classNames: classNames ?? ConfusionMatrix.numberedClasses(classes))
        try ConfusionMatrixChart.writePNG(matrix, title: "confusion matrix", to: path)
        writeStandardError("stn-infer: wrote \(path)\n")
        switch format {
        case .json:
            return (0 ..< classes).map { c in
                let images = matrix.imageCount(of: c)
                let right = matrix[actual: c, predicted: c]
                return formatted("{\"class\":%d,", c) + formatted("\"images\":%d,", images)
                    + formatted("\"right\":%d,", right)
                    + formatted("\"accuracy\":%.6f}\n", Double(right) / Double(max(images, 1)))
            }.joined()
        case .csv, .text:
            return matrix.table + "\n"
        }
    }
}
