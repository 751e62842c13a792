import ArgumentParser
import STNCommandLine
import STNData
import STNTrainer

/// What the run trains on: MNIST (--data, --distortion) or the user's data (--train and its
/// companions).
extension TrainCommand {
    /// The flags of the user's data, checked against each other and against MNIST's.
    func validateData() throws {
        if train != nil && (distortion != nil || data != nil) {
            throw ValidationError(
                "--train gives your own data, --distortion and --data choose MNIST: pass one or the other")
        }
        if test != nil && valSplit != nil {
            throw ValidationError("--test and --val-split both choose the images to measure the model on: pass one")
        }
        try require(valSplit, .above(0), .below(1), for: "--val-split")
        if let fit, FrameFitting.Fit(rawValue: fit) == nil {
            throw ValidationError("--fit must be refuse, pad or resize, not '\(fit)'")
        }
        if let color, FrameFitting.Color(rawValue: color) == nil {
            throw ValidationError("--color must be grey or rgb, not '\(color)'")
        }
        if resume != nil {
            // The checkpoint records how its data is read; only moved files may be named again.
            for (flag, given) in [
                ("--val-split", valSplit != nil), ("--fit", fit != nil), ("--color", color != nil),
                ("--classes", classes != nil),
            ] where given {
                throw ValidationError("\(flag): --resume reads the data as the checkpoint records it")
            }
            return
        }
        for (flag, given) in [
            ("--test", test != nil), ("--val-split", valSplit != nil), ("--fit", fit != nil),
            ("--color", color != nil), ("--classes", classes != nil),
        ] where given && train == nil {
            throw ValidationError("\(flag) applies to --train data (MNIST's frames are made for the model)")
        }
        if train != nil && test == nil && valSplit == nil && !summary {
            throw ValidationError(
                "--train needs --test DATA or --val-split FRACTION (e.g. 0.1): images to measure the model on")
        }
    }

    /// The user's data as the flags give it; nil for MNIST.
    var dataSource: DataSource? {
        guard let train else { return nil }
        return DataSource(
            train: train, test: test, validationFraction: valSplit,
            fit: fit.flatMap(FrameFitting.Fit.init(rawValue:)) ?? .refuse,
            color: color.flatMap(FrameFitting.Color.init(rawValue:)), classesFile: classes)
    }

    /// Opens the run's data (a resumed run's as its checkpoint records it, --train and
    /// --test naming moved files) and records its class names in `configuration`; with the
    /// data, the summary line for the trainer that will use it.
    func trainingData(_ configuration: inout TrainingConfiguration, resumed: Bool) throws -> (
        TrainingData, (Trainer) -> String
    ) {
        guard var source = configuration.dataSource else {
            if resumed && train != nil {
                throw ValidationError("--train: the checkpoint trained on MNIST (--data names its folder)")
            }
            return try mnistData(configuration)
        }
        if resumed {
            if let train { source.train = train }
            if let test {
                guard source.test != nil else {
                    throw ValidationError("--test: the checkpoint measures on images held out of its --train data")
                }
                source.test = test
            }
            configuration.dataSource = source
        }
        let data = try TrainingData.open(source, architecture: configuration.architecture)
        if resumed && data.classNames != configuration.classNames {
            throw DataError(
                source.train,
                "classes (\(data.classNames.map { ClassNames.summary($0) } ?? "numbered only")) differ from the checkpoint's (\(configuration.classNames.map { ClassNames.summary($0) } ?? "numbered only"))"
            )
        }
        configuration.classNames = data.classNames
        let fitting = data.fitting
        let classLine = data.classNames.map { "\($0.count) classes (\(ClassNames.summary($0)))" } ?? "numbered classes"
        let frames =
            "frames \(fitting.channels)x\(fitting.rows)x\(fitting.columns) (--fit \(source.fit.rawValue)\(source.color.map { ", --color \($0.rawValue)" } ?? ""))"
        return (
            data,
            { trainer in
                "  data \(data.trainDescription): \(trainer.trainingImages) training images, \(classLine); \(trainer.testImages) test images \(data.testDescription); \(frames)"
            }
        )
    }

    /// MNIST from --data (else $STN_DATA, else ./Data/mnist), distorted as the configuration says.
    private func mnistData(_ configuration: TrainingConfiguration) throws -> (TrainingData, (Trainer) -> String) {
        let directory = try MNIST.resolveDirectory(data)
        let train = try MNIST.load(split: .train, directory: directory)
        let t10k = try MNIST.load(split: .test, directory: directory)
        let test = configuration.distortion.testSet(t10k.images, threads: configuration.threads)
        let data = try TrainingData.mnist(
            train: train, test: test, testLabels: t10k.labels, distortion: configuration.distortion,
            seed: configuration.seed, architecture: configuration.architecture)
        let rts = configuration.distortion == .rts
        let line =
            "  data \(directory): \(configuration.limit.map { min($0, train.labels.count) } ?? train.labels.count) training images (\(rts ? "fresh RTS draw every epoch" : "plain digits")), \(configuration.testLimit.map { min($0, t10k.labels.count) } ?? t10k.labels.count) \(rts ? "RTS test images (seed 1)" : "test digits")"
        return (data, { _ in line })
    }
}
