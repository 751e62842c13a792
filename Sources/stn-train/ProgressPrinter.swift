import Foundation
import STNCommandLine
import STNTrainer

/// Per-batch progress. When standard error is a terminal: a progress bar with the epoch's
/// share done, the running loss, the speed and the time left for the whole run, redrawn in
/// place on standard error at most 10 times a second (standard output keeps only the epoch
/// lines, so `stn-train ... > log` shows the bar and logs clean lines). Otherwise: a plain
/// line on standard output every tenth of an epoch, so logs stay readable. The trainer's
/// events cannot throw: the first failed write to standard output is kept in `failure`
/// (the loop stops on it) and nothing more is written.
final class ProgressPrinter {
    let quiet: Bool
    let barOnTerminal = isatty(STDERR_FILENO) != 0
    private var lineOpen = false
    private var lastPrinted = Date.distantPast
    private(set) var failure: Error?

    /// Writes `text` to standard output and flushes, unless an earlier write failed.
    private func emit(_ text: String) {
        guard failure == nil else { return }
        do {
            try writeStandardOutput(text)
            try flushStandardOutput()
        } catch {
            failure = error
        }
    }

    init(quiet: Bool) { self.quiet = quiet }

    func batch(_ p: BatchProgress) {
        guard !quiet else { return }
        if barOnTerminal {
            // Redraw at most 10 times a second.
            guard Date().timeIntervalSince(lastPrinted) > 0.1 || p.batch == p.batchesPerEpoch else { return }
            lastPrinted = Date()
            writeStandardError("\r\u{1B}[K" + Self.barLine(p, columns: ProgressBar.terminalColumns(STDERR_FILENO)))
            lineOpen = true
        } else {
            let step = max(1, p.batchesPerEpoch / 10)
            if p.batch % step == 0 || p.batch == p.batchesPerEpoch {
                emit(Self.plainLine(p) + "\n")
            }
        }
    }

    /// The bar: epoch, bar and share of the epoch, loss, speed and the run's time left; then,
    /// room allowing, the batch, the rate and the gradient norms.
    static func barLine(_ p: BatchProgress, columns: Int) -> String {
        ProgressBar.line(
            prefix: "epoch \(p.epoch)/\(p.epochs)", fraction: Double(p.batch) / Double(max(1, p.batchesPerEpoch)),
            suffix: formatted("loss %.4f", p.runningLoss) + formatted("  %.0f img/s", p.imagesPerSecond) + "  ETA "
                + ProgressBar.duration(p.secondsRemaining),
            optional: [
                "batch \(p.batch)/\(p.batchesPerEpoch)", formatted("lr %.4g", p.learningRate),
                formatted("|grad| mean %.3g", p.meanGradientNorm) + formatted(" max %.3g", p.maxGradientNorm),
            ], columns: columns)
    }

    static func plainLine(_ p: BatchProgress) -> String {
        String(
            format: "epoch %d/%d  batch %d/%d  %.0f img/s  loss %.4f  lr %.4g  |grad| mean %.3g max %.3g  ETA %@",
            p.epoch, p.epochs, p.batch, p.batchesPerEpoch, p.imagesPerSecond, p.runningLoss,
            p.learningRate, p.meanGradientNorm, p.maxGradientNorm, ProgressBar.duration(p.secondsRemaining))
    }

    func epoch(_ r: EpochRecord, total: Int) {
        finishLine()
        emit(
            String(
                format:
                    "epoch %3d/%d  train loss %.4f  acc %6.2f%%  |  test loss %.4f  acc %6.2f%%  error %5.2f%%  |  %@",
                r.epoch, total, r.trainLoss, r.trainAccuracy * 100, r.testLoss, r.testAccuracy * 100,
                (1 - r.testAccuracy) * 100, ProgressBar.duration(r.seconds)) + "\n")
    }

    /// Clears the bar, so the next line starts on an empty line.
    func finishLine() {
        if lineOpen {
            writeStandardError("\r\u{1B}[K")
            lineOpen = false
        }
    }
}
