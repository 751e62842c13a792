import Foundation

/// The per-epoch CSV log written beside the weights.
public enum TrainingLog {
    public static let header = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,learning_rate"

    public static func csv(_ history: [EpochRecord]) -> String {
        var lines = [header]
        for r in history {
            lines.append(
                String(
                    format: "%d,%.6f,%.6f,%.6f,%.6f,%.1f,%.6g", r.epoch, r.trainLoss, r.trainAccuracy,
                    r.testLoss, r.testAccuracy, r.seconds, r.learningRate))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes atomically (Foundation writes a temporary file and renames it).
    public static func write(_ history: [EpochRecord], to path: String) throws {
        do {
            try csv(history).write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw TrainingError.invalid("\(path): cannot write the training log (\(error.localizedDescription))")
        }
    }
}
