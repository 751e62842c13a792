import STNData
import STNLibHDF5
import STNModel
import STNSystem

/// One epoch's line of the training log.
public struct EpochRecord: Sendable, Equatable {
    public var epoch: Int  // 1-based
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    /// Wall time since training started, at the end of this epoch.
    public var seconds: Double
    public var learningRate: Double

    public init(
        epoch: Int, trainLoss: Double, trainAccuracy: Double, testLoss: Double, testAccuracy: Double, seconds: Double,
        learningRate: Double
    ) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.seconds = seconds
        self.learningRate = learningRate
    }

    static let columns = 7
    var row: [Double] { [Double(epoch), trainLoss, trainAccuracy, testLoss, testAccuracy, seconds, learningRate] }
    init(row r: ArraySlice<Double>) {
        let r = Array(r)
        self.init(
            epoch: Int(r[0]), trainLoss: r[1], trainAccuracy: r[2], testLoss: r[3], testAccuracy: r[4], seconds: r[5],
            learningRate: r[6])
    }
}

/// Where training stands: enough to continue to bit-identical final weights.
///
/// Position is (epoch, batch): the permutation and every RTS draw derive from the seed
/// and the epoch, so a run resumed mid-epoch replays exactly the batches it had left.
public struct TrainingState: Sendable {
    public var parameters: [Float]
    public var velocity: [Float]
    /// Adam's second moment (empty unless the localisation net trains with Adam).
    public var secondMoment: [Float] = []
    /// 0-based epoch in progress and the next batch within it.
    public var epoch: Int
    public var batch: Int
    /// Optimiser steps taken so far (drives the learning-rate schedule).
    public var iteration: Int
    /// Running sums over the epoch in progress.
    public var epochLossSum: Double
    public var epochCorrect: Int
    public var epochSeen: Int
    /// Seconds of training before this run segment started.
    public var elapsed: Double
    public var history: [EpochRecord]
}

/// What a checkpoint records besides the state: the run's configuration.
public struct TrainingConfiguration: Sendable, Equatable {
    public var architecture: Architecture
    public var recipe: Recipe
    public var seed: UInt64
    public var threads: Int
    /// Train on the first `limit` images only (nil: all of them; for the user's data, the
    /// first of a fixed shuffle, so a sample of every class).
    public var limit: Int?
    /// Evaluate on the first `testLimit` images of the test set only (nil: all 10,000).
    public var testLimit: Int?
    /// The data the model sees: plain MNIST digits or RTS frames (when `dataSource` is nil).
    public var distortion: Distortion
    /// The user's data instead of MNIST (`stn-train --train`).
    public var dataSource: DataSource?
    /// The names of the model's classes, when the data names them.
    public var classNames: [String]?
    /// Parameters whose names start with one of these stay as they are (`--freeze`).
    public var frozen: [String] = []
    /// Random jitter of every training image (`--augment`); nil for none.
    public var augmentation: Augmentation?

    public init(
        architecture: Architecture, recipe: Recipe, seed: UInt64 = 1, threads: Int = 2, limit: Int? = nil,
        testLimit: Int? = nil, distortion: Distortion = .rts
    ) {
        self.distortion = distortion
        self.architecture = architecture
        self.recipe = recipe
        self.seed = seed
        self.threads = threads
        self.limit = limit
        self.testLimit = testLimit
    }

    /// Provenance attributes for the weight file.
    public var attributes: [String: HDF5Attribute] {
        var a: [String: HDF5Attribute] = [
            "recipe": .string(recipe.name),
            "recipe_details": .string(recipe.summary),
            "epochs": .int(recipe.epochs),
            "batch_size": .int(recipe.batchSize),
            "learning_rate": .double(recipe.learningRate),
            "momentum": .double(recipe.momentum),
            "weight_decay": .double(recipe.weightDecay),
            "schedule": .string(recipe.scheduleDescription),
            "localisation_rate_scale": .double(recipe.localisationRateScale),
            "gradient_clip_norm": .double(recipe.gradientClipNorm),
            "localisation_optimizer": .string(recipe.localisationOptimizer.rawValue),
            "label_smoothing": .double(recipe.labelSmoothing),
            "seed": .int(Int(truncatingIfNeeded: seed)),
            "threads": .int(threads),
        ]
        if let source = dataSource {
            a["train_data"] = .string(source.train)
            if let test = source.test { a["test_data"] = .string(test) }
            if let fraction = source.validationFraction { a["val_split"] = .double(fraction) }
            a["fit"] = .string(source.fit.rawValue)
            if let color = source.color { a["color"] = .string(color.rawValue) }
            if let file = source.classesFile { a["classes_file"] = .string(file) }
            if let limit { a["train_limit"] = .int(limit) }
        } else {
            a["train_images"] = .int(limit ?? 60_000)
            a["distortion"] = .string(distortion.rawValue)
        }
        if let classNames { a["class_names"] = .string(ClassNames.attribute(classNames)) }
        if case .step(let every, let gamma) = recipe.schedule {
            a["schedule_step"] = .int(every)
            a["schedule_gamma"] = .double(gamma)
        } else if case .cosine(let warmup) = recipe.schedule {
            a["schedule_warmup_epochs"] = .double(warmup)
        }
        if let testLimit { a["test_images"] = .int(testLimit) }
        if !frozen.isEmpty { a["frozen"] = .string(frozen.joined(separator: "\n")) }
        if let augmentation { a["augment"] = .string(augmentation.description) }
        return a
    }

    /// Reads the configuration back from a checkpoint's attributes.
    init(architecture: Architecture, attributes a: [String: HDF5Attribute], path: String) throws {
        func need<T>(_ key: String, _ value: (HDF5Attribute) -> T?) throws -> T {
            guard let attribute = a[key], let v = value(attribute) else {
                throw HDF5Error(path: path, "checkpoint attribute '\(key)' is missing or malformed")
            }
            return v
        }
        let scheduleText: String = try need("schedule") { $0.stringValue }
        let schedule: Recipe.Schedule
        if scheduleText.hasPrefix("step") {
            schedule = .step(
                every: try need("schedule_step") { $0.intValue }, gamma: try need("schedule_gamma") { $0.doubleValue })
        } else if scheduleText.hasPrefix("cosine") {
            schedule = .cosine(warmupEpochs: try need("schedule_warmup_epochs") { $0.doubleValue })
        } else {
            schedule = .constant
        }
        var recipe = Recipe(
            name: try need("recipe") { $0.stringValue }, epochs: try need("epochs") { $0.intValue },
            batchSize: try need("batch_size") { $0.intValue },
            learningRate: try need("learning_rate") { $0.doubleValue },
            momentum: try need("momentum") { $0.doubleValue }, weightDecay: try need("weight_decay") { $0.doubleValue },
            schedule: schedule, localisationRateScale: try need("localisation_rate_scale") { $0.doubleValue })
        // Absent in checkpoints written before clipping existed: those trained without it.
        if let clip = a["gradient_clip_norm"] {
            guard let value = clip.doubleValue, value >= 0, value.isFinite else {
                throw HDF5Error(path: path, "checkpoint attribute 'gradient_clip_norm' is malformed")
            }
            recipe.gradientClipNorm = value
        }
        // Absent before Adam existed for the localisation net: those used SGD.
        if let optimizer = a["localisation_optimizer"] {
            guard let name = optimizer.stringValue, let value = Recipe.LocalisationOptimizer(rawValue: name) else {
                throw HDF5Error(path: path, "checkpoint attribute 'localisation_optimizer' is malformed")
            }
            recipe.localisationOptimizer = value
        }
        if let smoothing = a["label_smoothing"] {
            guard let value = smoothing.doubleValue, value >= 0, value < 1 else {
                throw HDF5Error(path: path, "checkpoint attribute 'label_smoothing' is malformed")
            }
            recipe.labelSmoothing = value
        }
        let source = try DataSource(attributes: a, path: path)
        var limit: Int?
        var distortion = Distortion.none
        if source != nil {
            if a["train_limit"] != nil { limit = try need("train_limit") { $0.intValue } }
        } else {
            let trainImages: Int = try need("train_images") { $0.intValue }
            limit = trainImages == 60_000 ? nil : trainImages
            // Absent before other data existed: those trained on RTS.
            distortion = .rts
            if let text = a["distortion"] {
                guard let name = text.stringValue, let value = Distortion(rawValue: name) else {
                    throw HDF5Error(path: path, "checkpoint attribute 'distortion' is malformed")
                }
                distortion = value
            }
        }
        self.init(
            architecture: architecture, recipe: recipe,
            seed: UInt64(truncatingIfNeeded: try need("seed") { $0.intValue }),
            threads: try need("threads") { $0.intValue }, limit: limit,
            testLimit: a["test_images"]?.intValue, distortion: distortion)
        dataSource = source
        if let text = a["class_names"] {
            guard let joined = text.stringValue else {
                throw HDF5Error(path: path, "checkpoint attribute 'class_names' is malformed")
            }
            classNames = ClassNames.parse(attribute: joined)
            do {
                try ClassNames.check(classNames!, source: path)
            } catch let error as DataError {
                throw HDF5Error(path: path, "checkpoint attribute 'class_names': \(error.problem)")
            }
        }
        if let text = a["frozen"] {
            guard let prefixes = text.stringValue else {
                throw HDF5Error(path: path, "checkpoint attribute 'frozen' is malformed")
            }
            frozen = prefixes.split(separator: "\n").map(String.init)
        }
        if let text = a["augment"] {
            guard let spec = text.stringValue, let value = try? Augmentation(parsing: spec) else {
                throw HDF5Error(path: path, "checkpoint attribute 'augment' is malformed")
            }
            augmentation = value
        }
        try checkRanges(path: path)
    }

    /// A checkpoint's settings get the same range checks as stn-train's flags: a forged or
    /// damaged file is refused with one line rather than starting 10,000 threads or
    /// overflowing a count.
    func checkRanges(path: String) throws {
        func check(_ valid: Bool, _ key: String, _ value: CustomStringConvertible) throws {
            guard valid else { throw HDF5Error(path: path, "checkpoint attribute '\(key)' is out of range (\(value))") }
        }
        func finite(_ value: Double, atLeast low: Double, below high: Double = .infinity) -> Bool {
            value.isFinite && value >= low && value < high
        }
        let r = recipe
        try check((1 ... Recipe.maximumEpochs).contains(r.epochs), "epochs", r.epochs)
        try check((1 ... Recipe.maximumBatchSize).contains(r.batchSize), "batch_size", r.batchSize)
        try check(finite(r.learningRate, atLeast: 0) && r.learningRate > 0, "learning_rate", r.learningRate)
        try check(finite(r.momentum, atLeast: 0, below: 1), "momentum", r.momentum)
        try check(finite(r.weightDecay, atLeast: 0), "weight_decay", r.weightDecay)
        try check(finite(r.localisationRateScale, atLeast: 0), "localisation_rate_scale", r.localisationRateScale)
        switch r.schedule {
        case .step(let every, let gamma):
            try check(every >= 1, "schedule_step", every)
            try check(finite(gamma, atLeast: 0) && gamma > 0, "schedule_gamma", gamma)
        case .cosine(let warmup):
            try check(
                warmup.isFinite && warmup >= 0 && warmup <= Double(Recipe.maximumEpochs), "schedule_warmup_epochs",
                warmup)
        case .constant:
            break
        }
        try check((1 ... maximumThreads).contains(threads), "threads", threads)
        try check((limit ?? 1) >= 1, "train_images", limit ?? 0)
        try check((testLimit ?? 1) >= 1, "test_images", testLimit ?? 0)
    }
}

/// A checkpoint is a weight file (it loads anywhere weights load) plus the optimiser's
/// velocity, the training log and the position, so `--resume` continues exactly.
public enum Checkpoint {
    public static func write(_ state: TrainingState, configuration: TrainingConfiguration, to path: String) throws {
        let layout = ParameterLayout(configuration.architecture)
        let weights = try layout.weights(from: state.parameters, architecture: configuration.architecture)
        var attributes = configuration.attributes
        attributes["checkpoint"] = .int(1)
        attributes["checkpoint_epoch"] = .int(state.epoch)
        attributes["checkpoint_batch"] = .int(state.batch)
        attributes["checkpoint_iteration"] = .int(state.iteration)
        attributes["checkpoint_epoch_loss_sum"] = .double(state.epochLossSum)
        attributes["checkpoint_epoch_correct"] = .int(state.epochCorrect)
        attributes["checkpoint_epoch_seen"] = .int(state.epochSeen)
        attributes["checkpoint_elapsed"] = .double(state.elapsed)
        try WeightFile(weights: weights, attributes: attributes).write(to: path) { file in
            if !state.velocity.isEmpty {
                try file.write("optimizer/velocity", floats: state.velocity, shape: [state.velocity.count])
            }
            if !state.secondMoment.isEmpty {
                try file.write("optimizer/second_moment", floats: state.secondMoment, shape: [state.secondMoment.count])
            }
            let rows = state.history.flatMap(\.row)
            try file.write("training/history", doubles: rows, shape: [state.history.count, EpochRecord.columns])
        }
    }

    public static func read(_ path: String) throws -> (TrainingState, TrainingConfiguration) {
        let file = try HDF5Reader(path: path)
        let contents = try WeightFile.read(file)
        let a = contents.attributes
        guard a["checkpoint"]?.intValue == 1 else {
            throw HDF5Error(path: path, "not a training checkpoint (a weight file without 'checkpoint' attributes)")
        }
        let configuration = try TrainingConfiguration(architecture: contents.architecture, attributes: a, path: path)
        let layout = ParameterLayout(contents.architecture)
        var velocity: [Float] = []
        if file.hasDataset("optimizer/velocity") {
            velocity = try file.readFloats("optimizer/velocity").values
            guard velocity.count == layout.total else {
                throw HDF5Error(
                    path: path, "dataset 'optimizer/velocity' has \(velocity.count) values, expected \(layout.total)")
            }
        }
        var secondMoment: [Float] = []
        if file.hasDataset("optimizer/second_moment") {
            secondMoment = try file.readFloats("optimizer/second_moment").values
            guard secondMoment.count == layout.total else {
                throw HDF5Error(
                    path: path,
                    "dataset 'optimizer/second_moment' has \(secondMoment.count) values, expected \(layout.total)")
            }
        }
        let history = try file.readDoubles("training/history")
        guard history.shape.count == 2, history.shape[1] == EpochRecord.columns || history.shape[0] == 0 else {
            throw HDF5Error(
                path: path,
                "dataset 'training/history' has shape \(history.shape), expected [epochs, \(EpochRecord.columns)]")
        }
        // The first column is the epoch number (converted to Int): a whole number in range.
        for row in stride(from: 0, to: history.values.count, by: EpochRecord.columns) {
            let epoch = history.values[row]
            guard epoch.isFinite, epoch == epoch.rounded(), epoch >= 1, epoch <= Double(Recipe.maximumEpochs) else {
                throw HDF5Error(
                    path: path, "dataset 'training/history' row \(row / EpochRecord.columns) has epoch \(epoch)")
            }
        }
        let records = stride(from: 0, to: history.values.count, by: EpochRecord.columns).map {
            EpochRecord(row: history.values[$0 ..< $0 + EpochRecord.columns])
        }
        func int(_ key: String) throws -> Int {
            guard let v = a[key]?.intValue else {
                throw HDF5Error(path: path, "checkpoint attribute '\(key)' is missing")
            }
            return v
        }
        func double(_ key: String) throws -> Double {
            guard let v = a[key]?.doubleValue else {
                throw HDF5Error(path: path, "checkpoint attribute '\(key)' is missing")
            }
            return v
        }
        let state = TrainingState(
            parameters: layout.flatten(contents.weights), velocity: velocity, secondMoment: secondMoment,
            epoch: try int("checkpoint_epoch"), batch: try int("checkpoint_batch"),
            iteration: try int("checkpoint_iteration"), epochLossSum: try double("checkpoint_epoch_loss_sum"),
            epochCorrect: try int("checkpoint_epoch_correct"), epochSeen: try int("checkpoint_epoch_seen"),
            elapsed: try double("checkpoint_elapsed"), history: records)
        return (state, configuration)
    }
}

extension DataSource {
    /// The data source a checkpoint records (`train_data` and its companions), or nil for MNIST.
    init?(attributes a: [String: HDF5Attribute], path: String) throws {
        guard let trainAttribute = a["train_data"] else { return nil }
        func malformed(_ key: String) -> HDF5Error {
            HDF5Error(path: path, "checkpoint attribute '\(key)' is malformed")
        }
        guard let train = trainAttribute.stringValue, !train.isEmpty else { throw malformed("train_data") }
        self.init(train: train)
        if let test = a["test_data"] {
            guard let value = test.stringValue, !value.isEmpty else { throw malformed("test_data") }
            self.test = value
        }
        if let split = a["val_split"] {
            guard let value = split.doubleValue, value > 0, value < 1 else { throw malformed("val_split") }
            validationFraction = value
        }
        guard (test == nil) != (validationFraction == nil) else {
            throw HDF5Error(path: path, "checkpoint attributes 'test_data' and 'val_split': exactly one is expected")
        }
        if let fit = a["fit"] {
            guard let name = fit.stringValue, let value = FrameFitting.Fit(rawValue: name) else {
                throw malformed("fit")
            }
            self.fit = value
        }
        if let color = a["color"] {
            guard let name = color.stringValue, let value = FrameFitting.Color(rawValue: name) else {
                throw malformed("color")
            }
            self.color = value
        }
        if let file = a["classes_file"] {
            guard let value = file.stringValue, !value.isEmpty else { throw malformed("classes_file") }
            classesFile = value
        }
    }
}
