import Foundation
import STNCommandLine
import STNTrainer

/// Per-batch progress: one line updated in place on a terminal, a plain line every tenth
/// of an epoch otherwise (logs stay readable). The trainer's events cannot throw: the first
/// failed write is kept in `failure` (the loop stops on it) and nothing more is written.
final class ProgressPrinter {
    let quiet: Bool
    let isTerminal = isatty(STDOUT_FILENO) != 0
    private var lineOpen = false
    private var lastPrinted = Date.distantPast
    private(set) var failure: Error?

    /// Writes `text` and flushes, unless an earlier write failed.
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
        let text = String(
            format: "epoch %d/%d  batch %d/%d  %.0f img/s  loss %.4f  lr %.4g  |grad| mean %.3g max %.3g  ETA %@",
            p.epoch, p.epochs, p.batch, p.batchesPerEpoch, p.imagesPerSecond, p.runningLoss,
            p.learningRate, p.meanGradientNorm, p.maxGradientNorm, ProgressPrinter.duration(p.secondsRemaining))
        if isTerminal {
            // Redraw at most 10 times a second.
            guard Date().timeIntervalSince(lastPrinted) > 0.1 || p.batch == p.batchesPerEpoch else { return }
            lastPrinted = Date()
            emit("\r\u{1B}[K" + text)
            lineOpen = true
        } else {
            let step = max(1, p.batchesPerEpoch / 10)
            if p.batch % step == 0 || p.batch == p.batchesPerEpoch {
                emit(text + "\n")
            }
        }
    }

    func epoch(_ r: EpochRecord, total: Int) {
        finishLine()
        emit(
            String(
                format:
                    "epoch %3d/%d  train loss %.4f  acc %6.2f%%  |  test loss %.4f  acc %6.2f%%  error %5.2f%%  |  %@",
                r.epoch, total, r.trainLoss, r.trainAccuracy * 100, r.testLoss, r.testAccuracy * 100,
                (1 - r.testAccuracy) * 100, ProgressPrinter.duration(r.seconds)) + "\n")
    }

    func finishLine() {
        if lineOpen {
            emit("\r\u{1B}[K")
            lineOpen = false
        }
    }

    static func duration(_ seconds: Double) -> String {
        // Int(_:) traps beyond Int's range: an estimate past a century (a stalled run) is unknown.
        guard seconds.isFinite, seconds >= 0, seconds < 3e9 else { return "?" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m"
    }
}
