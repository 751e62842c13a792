import STNImage
import STNTrainer

/// Loss and accuracy per epoch, side by side, as a PNG a person can glance at.
enum TrainingPlot {
    static func render(_ history: [EpochRecord], title: String) -> Canvas {
        var loss = LinePlot(title: "\(title): loss", xLabel: "epoch", yLabel: "NLL loss")
        loss.add(series: "train", points: history.map { (Double($0.epoch), $0.trainLoss) }, color: .blue)
        loss.add(series: "test", points: history.map { (Double($0.epoch), $0.testLoss) }, color: .red)
        loss.logY = true
        var error = LinePlot(title: "\(title): error", xLabel: "epoch", yLabel: "error %")
        error.add(
            series: "train", points: history.map { (Double($0.epoch), (1 - $0.trainAccuracy) * 100) }, color: .blue)
        error.logY = true
        error.add(series: "test", points: history.map { (Double($0.epoch), (1 - $0.testAccuracy) * 100) }, color: .red)
        return Canvas.sideBySide([loss.render(width: 560, height: 400), error.render(width: 560, height: 400)])
    }

    static func write(_ history: [EpochRecord], title: String, to path: String) throws {
        try render(history, title: title).writePNG(to: path)
    }
}
