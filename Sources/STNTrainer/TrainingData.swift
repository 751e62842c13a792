import STNData
import STNModel

/// What a run trains and is tested on: two sets of labelled images and how their images
/// become the model's frames; MNIST (distorted as `Distortion` says) or the user's data
/// (`DataSource`: an IDX pair, an image folder or a CSV list).
public struct TrainingData: Sendable {
    public var train: any LabelledImages
    public var test: any LabelledImages
    public var fitting: FrameFitting
    /// The classes' names, when the data has them (class folders, named labels, --classes).
    public var classNames: [String]?
    /// What was opened, for the run's summary: "photos (image folder)".
    public var trainDescription: String
    public var testDescription: String
    /// Files of an image folder left out (not PNG or PGM), and one of them.
    public var ignoredCount = 0
    public var ignoredExample: String?
    /// The sets as opened, before any split or shuffle: what `check` checks, each in its
    /// own order (so a fault is named as the first in its file or folder).
    public var opened: [any LabelledImages]

    public init(
        train: any LabelledImages, test: any LabelledImages, fitting: FrameFitting, classNames: [String]? = nil,
        trainDescription: String, testDescription: String
    ) {
        self.train = train
        self.test = test
        self.fitting = fitting
        self.classNames = classNames
        self.trainDescription = trainDescription
        self.testDescription = testDescription
        opened = [train, test]
    }

    /// MNIST: the training digits drawn with `distortion` (afresh every epoch, from `seed`)
    /// and a fixed test set, both fed to every channel of the model's input as they have
    /// always been. The model's frames must be the data's size.
    public static func mnist(
        train: MNISTSplit, test: IDXImages, testLabels: [UInt8], distortion: Distortion, seed: UInt64,
        architecture: Architecture
    ) throws -> TrainingData {
        let side = distortion.side
        let input = architecture.inputShape
        guard input.height == side, input.width == side else {
            throw TrainingError.invalid(
                "the \(architecture.name) model takes \(input) frames; --distortion \(distortion.rawValue) gives \(side)x\(side) digits"
            )
        }
        guard test.rows == side, test.columns == side, test.channels == 1, test.count == testLabels.count else {
            throw TrainingError.invalid("the test set must be \(side)x\(side) images with one label each")
        }
        var fitting = FrameFitting(rows: side, columns: side, channels: input.channels)
        fitting.repeatsGrey = true
        return TrainingData(
            train: DistortedDigits(train, distortion: distortion.distortion(seed: seed)),
            test: IDXImageSet(test, labels: testLabels, name: "MNIST test set"), fitting: fitting,
            trainDescription: "MNIST", testDescription: "MNIST test set")
    }

    /// The user's data as `source` names it, for a model of `architecture`: the training
    /// data, and the test data or the validation part held out of the training data.
    public static func open(_ source: DataSource, architecture: Architecture) throws -> TrainingData {
        let known = try source.classesFile.map(ClassNames.read)
        let train = try DataLocation.open(source.train, training: true, known: known, knownSource: source.classesFile)
        let names = train.classNames
        let (trainSet, validation) = DataSplit.split(train.images, validationFraction: source.validationFraction)
        guard !trainSet.indices.isEmpty else {
            throw DataError(source.train, "--val-split \(source.validationFraction ?? 0) leaves no training images")
        }
        let test: any LabelledImages
        let testDescription: String
        var opened = [train.images]
        if let testPath = source.test {
            let testSet = try DataLocation.open(
                testPath, training: false, known: names,
                knownSource: names == nil ? nil : source.classesFile ?? source.train)
            if names == nil, let testNames = testSet.classNames {
                throw DataError(
                    testPath,
                    "names its classes (\(ClassNames.summary(testNames))) but the training data only numbers them; give --classes FILE to name them"
                )
            }
            test = ImageSubset(testSet.images, indices: DataSplit.shuffled(testSet.images.count))
            testDescription = "\(testPath) (\(testSet.kind.name))"
            opened.append(testSet.images)
        } else if let validation {
            test = validation
            testDescription = "held out of \(source.train) (--val-split \(source.validationFraction!))"
        } else {
            throw TrainingError.invalid(
                "\(source.train): give --test DATA or --val-split FRACTION, the images the model is measured on")
        }
        let input = architecture.inputShape
        var data = TrainingData(
            train: trainSet, test: test,
            fitting: FrameFitting(
                rows: input.height, columns: input.width, channels: input.channels, fit: source.fit,
                color: source.color),
            classNames: names, trainDescription: "\(source.train) (\(train.kind.name))",
            testDescription: testDescription)
        data.ignoredCount = train.ignoredCount
        data.ignoredExample = train.ignoredExample
        data.opened = opened
        return data
    }

    /// Checks the data against the model before the first batch: the class names' count
    /// against its outputs, every label against its classes, every image's channels and size
    /// against its frame (each image file decoded once, on `threads` threads). One line
    /// naming the file and the problem.
    public func check(for architecture: Architecture, threads: Int) throws {
        let classes = architecture.classCount
        if let problem = fitting.colorProblem { throw TrainingError.invalid(problem) }
        if let classNames, classNames.count != classes {
            throw DataError(
                trainDescription,
                "\(classNames.count) classes (\(ClassNames.summary(classNames))), the \(architecture.name) model answers with \(classes); train a model whose last layer has \(classNames.count) outputs (with --init, --reset that layer)"
            )
        }
        for set in opened {
            try set.checkLabels(classes: classes)
            try set.checkImages(threads: threads) { layout, index in
                if let problem = fitting.problem(layout) { throw DataError(set.origin(index), problem) }
            }
        }
    }
}

/// The user's data a run trains on (`stn-train --train`), as weight files and checkpoints
/// record it: where it is and how its images become frames.
public struct DataSource: Sendable, Equatable {
    /// The training data (an IDX pair, an image folder or a CSV list, see `DataLocation`).
    public var train: String
    /// The test data; nil when the test images are held out of the training data.
    public var test: String?
    /// The fraction of the training data held out to test on (`--val-split`).
    public var validationFraction: Double?
    public var fit: FrameFitting.Fit
    public var color: FrameFitting.Color?
    /// A file naming the classes, one a line (`--classes`).
    public var classesFile: String?

    public init(
        train: String, test: String? = nil, validationFraction: Double? = nil, fit: FrameFitting.Fit = .refuse,
        color: FrameFitting.Color? = nil, classesFile: String? = nil
    ) {
        self.train = train
        self.test = test
        self.validationFraction = validationFraction
        self.fit = fit
        self.color = color
        self.classesFile = classesFile
    }
}
