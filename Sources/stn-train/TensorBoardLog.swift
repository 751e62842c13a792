import STNModel
import STNSystem
import STNTensorBoard
import STNTrainer

/// `--tensorboard DIR`: per epoch, the losses, the test accuracy and the learning rate as
/// scalars, and for a model with a spatial transformer a few test images beside what the
/// transformer made of them, into a TensorBoard event file in DIR.
final class TensorBoardLog {
    let writer: EventFileWriter
    /// Test images shown each epoch (the first ones of the test set).
    static let sampleCount = 4

    init(directory: String) throws {
        do {
            writer = try EventFileWriter(directory: directory)
        } catch let error as FileError {
            throw OutputError("--tensorboard: \(error)")
        }
    }

    /// The values of one epoch: scalars for `record`, and the transformer's images for the
    /// trainer's current parameters (run on its network between epochs).
    static func values(_ record: EpochRecord, trainer: Trainer) throws -> [SummaryValue] {
        var values: [SummaryValue] = [
            .scalar(tag: "loss/train", value: Float(record.trainLoss)),
            .scalar(tag: "loss/test", value: Float(record.testLoss)),
            .scalar(tag: "accuracy/train", value: Float(record.trainAccuracy)),
            .scalar(tag: "accuracy/test", value: Float(record.testAccuracy)),
            .scalar(tag: "learning_rate", value: Float(record.learningRate)),
        ]
        let network = trainer.network
        guard let sampled = network.sampledShape else { return values }
        let input = network.architecture.inputShape
        for i in 0 ..< min(sampleCount, trainer.testImages) {
            let image = try trainer.testImage(i)
            guard let output = image.withUnsafeBufferPointer({ network.transformerOutput(image: $0.baseAddress!) })
            else { continue }
            let panel = SummaryImage.sideBySide([
                FloatImage(
                    pixels: image, width: input.width, height: input.height, channels: input.channels,
                    interleaved: true),
                FloatImage(
                    pixels: output, width: sampled.width, height: sampled.height, channels: sampled.channels,
                    interleaved: false),
            ])
            values.append(.image(tag: "transformer/test_image_\(i)", image: panel))
        }
        return values
    }

    func write(_ record: EpochRecord, trainer: Trainer) throws {
        do {
            try writer.write(step: record.epoch, values: Self.values(record, trainer: trainer))
        } catch let error as FileError {
            throw OutputError("--tensorboard: \(error)")
        }
    }
}
