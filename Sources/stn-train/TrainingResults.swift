import Foundation
import STNCommandLine
import STNImage
import STNLibHDF5
import STNModel
import STNSystem
import STNTrainer

/// What a finished run leaves: the kept weights (`--keep`), the per-class accuracy on the
/// test set and its confusion matrix (OUT.confusion.png), and the closing line.
extension TrainCommand {
    /// The trainer's current weights, saying which epoch they are and why they were kept.
    static func keptWeightFile(_ trainer: Trainer, _ kept: KeptWeights) throws -> WeightFile {
        var file = try trainer.weightFile()
        if let last = trainer.state.history.last { file.attributes.merge(kept.attributes(epoch: last)) { $1 } }
        return file
    }

    static func finish(_ trainer: Trainer, kept: KeptWeights, bestParameters: [Float]?, paths: OutputPaths) throws {
        let history = trainer.state.history
        var keptEpoch = kept.keptEpoch(history)
        var how = kept.rawValue
        switch kept {
        case .last:
            try keptWeightFile(trainer, .last).write(to: paths.weights)
        case .best:
            if let bestParameters {
                // Written when that epoch ended; its parameters give the confusion matrix.
                trainer.network.parameters = bestParameters
            } else if let file = try? WeightFile.read(paths.weights),
                file.attributes["kept_epoch"]?.intValue == keptEpoch,
                file.weights.architecture == trainer.configuration.architecture
            {
                // A resumed run whose best epoch came before the resume: written then.
                trainer.network.load(file.weights)
            } else {
                // The best epoch's weights are gone (the file was removed or replaced).
                try writeStandardOutputLine(
                    "note: epoch \(keptEpoch ?? 0) did best but \(paths.weights) does not hold it; keeping the last epoch"
                )
                keptEpoch = history.last?.epoch
                how = KeptWeights.last.rawValue
                try keptWeightFile(trainer, .last).write(to: paths.weights)
            }
        }
        guard let record = history.first(where: { $0.epoch == keptEpoch }) else { return }

        let evaluation = try trainer.evaluate()
        let matrix = try ConfusionMatrix(
            predicted: evaluation.predictions, actual: evaluation.labels.map(Int.init),
            classNames: trainer.data.classNames ?? ConfusionMatrix.numberedClasses(trainer.network.classCount))
        try writeStandardOutputLine(
            "per-class accuracy on the \(trainer.testImages) test images, epoch \(record.epoch) weights (\(how)):")
        try writeStandardOutputLine(matrix.table)
        try ConfusionMatrixChart.writePNG(
            matrix, title: "\(trainer.configuration.architecture.name), epoch \(record.epoch)", to: paths.confusion)
        try writeStandardOutputLine(
            String(
                format:
                    "done: kept epoch %d (%@): test accuracy %.2f%% (error %.2f%%), test loss %.4f, %.0f s; wrote %@, %@",
                record.epoch, how, record.testAccuracy * 100, (1 - record.testAccuracy) * 100, record.testLoss,
                history.last?.seconds ?? 0, paths.weights, paths.confusion))
    }
}
