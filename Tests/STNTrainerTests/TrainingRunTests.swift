import Foundation
import STNData
import STNModel
import STNTestSupport
import XCTest

@testable import STNTrainer

/// Short real training runs on the first few hundred MNIST images: determinism, resume
/// (from an epoch boundary and from mid-epoch) and checkpoint files.
final class TrainingRunTests: XCTestCase {
    // XCTest runs these tests one at a time: the cache is never touched concurrently.
    nonisolated(unsafe) static var cached: (train: MNISTSplit, test: IDXImages, labels: [UInt8])?

    func data() throws -> (train: MNISTSplit, test: IDXImages, labels: [UInt8]) { try Self.data() }

    static func data() throws -> (train: MNISTSplit, test: IDXImages, labels: [UInt8]) {
        if let cached = Self.cached { return cached }
        let directory = try FixturePaths.mnistDirectory()
        let train = try MNIST.load(split: .train, directory: directory)
        let t10k = try MNIST.load(split: .test, directory: directory)
        var first = t10k.images
        first.count = 200
        first.pixels = Array(first.pixels.prefix(200 * 28 * 28))
        let test = RTSDistortion(seed: 1).distort(first, epoch: 0, threads: 1)
        Self.cached = (train, test, Array(t10k.labels.prefix(200)))
        return Self.cached!
    }

    func configuration(_ architecture: Architecture = .stCNN, threads: Int = 2) -> TrainingConfiguration {
        var recipe = Recipe.standard
        recipe.epochs = 2
        recipe.batchSize = 64
        return TrainingConfiguration(
            architecture: architecture, recipe: recipe, seed: 5, threads: threads, limit: 640, testLimit: 200)
    }

    func trainer(_ c: TrainingConfiguration, resume: TrainingState? = nil) throws -> Trainer {
        let d = try data()
        return try Trainer(configuration: c, train: d.train, test: d.test, testLabels: d.labels, resume: resume)
    }

    func runToEnd(_ t: Trainer, stopAfter batches: Int = .max) throws {
        var seen = 0
        try t.run(events: { if case .batch = $0 { seen += 1 } }, shouldStop: { seen >= batches }, checkpoint: { _ in })
    }

    func testSameSeedAndThreadsGiveBitIdenticalWeights() throws {
        let a = try trainer(configuration())
        try runToEnd(a)
        let b = try trainer(configuration())
        try runToEnd(b)
        XCTAssertEqual(a.state.parameters, b.state.parameters)
        XCTAssertEqual(a.state.history.count, 2)
        XCTAssertEqual(a.state.history.map(\.testLoss), b.state.history.map(\.testLoss))
        // It learned something: the second epoch's loss is below the first's.
        XCTAssertLessThan(a.state.history[1].trainLoss, a.state.history[0].trainLoss)
    }

    func testResumeFromMidEpochCheckpointReachesTheSameWeights() throws {
        try checkResumeFromMidEpoch(configuration(), optimizerDatasets: ["optimizer/velocity"])
    }

    func testResumeWithAdamOnTheLocalisationNetReachesTheSameWeights() throws {
        var c = configuration()
        c.recipe.localisationOptimizer = .adam
        c.recipe.localisationRateScale = 0.01
        try checkResumeFromMidEpoch(c, optimizerDatasets: ["optimizer/second_moment", "optimizer/velocity"])
        // Adam moves the localisation net differently from SGD at the same rate.
        var sgd = c
        sgd.recipe.localisationOptimizer = .sgd
        let a = try trainer(c)
        let b = try trainer(sgd)
        try runToEnd(a, stopAfter: 3)
        try runToEnd(b, stopAfter: 3)
        XCTAssertNotEqual(a.state.parameters, b.state.parameters)
        XCTAssertTrue(c.recipe.summary.hasSuffix("loc-optimizer=adam"), c.recipe.summary)
    }

    /// Stops a run mid-epoch, writes and reads its checkpoint, resumes, and checks the
    /// result is bit-identical to the uninterrupted run.
    func checkResumeFromMidEpoch(_ c: TrainingConfiguration, optimizerDatasets: [String], line: UInt = #line) throws {
        let whole = try trainer(c)
        try runToEnd(whole)

        let directory = NSTemporaryDirectory() + "stn-resume-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/run.checkpoint.h5"

        // Stop after 12 batches (epoch 2 of 2, batch 2 of 10), as Ctrl-C would.
        let first = try trainer(c)
        try runToEnd(first, stopAfter: 12)
        XCTAssertEqual(first.state.epoch, 1, line: line)
        XCTAssertEqual(first.state.batch, 2, line: line)
        try Checkpoint.write(first.state, configuration: first.configuration, to: path)

        let (state, saved) = try Checkpoint.read(path)
        XCTAssertEqual(saved, first.configuration, line: line)
        XCTAssertEqual(state.parameters, first.state.parameters, line: line)
        XCTAssertEqual(state.velocity, first.state.velocity, line: line)
        XCTAssertEqual(state.secondMoment, first.state.secondMoment, line: line)
        XCTAssertEqual(state.history, first.state.history, line: line)
        // A checkpoint is also a weight file, with the optimiser state reported as extra.
        let asWeights = try WeightFile.read(path)
        XCTAssertEqual(
            asWeights.extraDatasets.sorted(), (optimizerDatasets + ["training/history"]).sorted(), line: line)

        let resumed = try trainer(saved, resume: state)
        try runToEnd(resumed)
        XCTAssertEqual(resumed.state.parameters, whole.state.parameters, line: line)
        XCTAssertEqual(resumed.state.history.map(\.testLoss), whole.state.history.map(\.testLoss), line: line)
    }

    func testGradientClippingIsRecordedAndChangesTheRun() throws {
        var c = configuration(.cnn)
        c.recipe.gradientClipNorm = 0.05
        let clipped = try trainer(c)
        try runToEnd(clipped, stopAfter: 3)
        let plain = try trainer(configuration(.cnn))
        try runToEnd(plain, stopAfter: 3)
        XCTAssertNotEqual(
            clipped.state.parameters, plain.state.parameters, "a 0.05 clip should bind in the first batches")

        let directory = NSTemporaryDirectory() + "stn-clip-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/run.checkpoint.h5"
        try Checkpoint.write(clipped.state, configuration: clipped.configuration, to: path)
        let (_, saved) = try Checkpoint.read(path)
        XCTAssertEqual(saved.recipe.gradientClipNorm, 0.05)
        XCTAssertTrue(saved.recipe.summary.hasSuffix("clip-norm=0.05"), saved.recipe.summary)
    }

    func testNonFiniteLossStopsWithAClearError() throws {
        var c = configuration(.cnn)
        c.recipe.learningRate = 1e9
        c.recipe.schedule = .constant
        let t = try trainer(c)
        XCTAssertThrowsError(try runToEnd(t)) { error in
            XCTAssertTrue("\(error)".contains("diverged"), "\(error)")
        }
    }

    /// A rate of 1e30 throws the ST-CNN's parameters to ~1e28 in one step; the next forward
    /// pass converted sampling positions past Int's range to Int and trapped in the checked
    /// build. The step itself is now refused, before any forward pass sees the parameters.
    func testAbsurdRateStopsAfterTheStepNotInTheSampler() throws {
        var c = configuration(.stCNN)
        c.recipe.learningRate = 1e30
        let t = try trainer(c)
        let before = t.state.parameters
        XCTAssertThrowsError(try runToEnd(t)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("training diverged: the step at epoch 1, batch 1 took parameter"), message)
            XCTAssertFalse(message.contains("\n"), message)
        }
        // The state a checkpoint would save is still the last good one.
        XCTAssertEqual(t.state.parameters, before)
    }

    func testParameterLimitFindsTheTensor() {
        let layout = ParameterLayout(.cnn)
        var parameters = [Float](repeating: 0.5, count: layout.total)
        XCTAssertNil(Trainer.firstAbsurdParameter(parameters, layout: layout))
        let last = layout.names.count - 1
        parameters[layout.offsets[last]] = .nan
        XCTAssertEqual(Trainer.firstAbsurdParameter(parameters, layout: layout)?.0, layout.names[last])
        parameters[layout.offsets[1] + 1] = -1e9
        XCTAssertEqual(Trainer.firstAbsurdParameter(parameters, layout: layout)?.0, layout.names[1])
        XCTAssertEqual(Trainer.firstAbsurdParameter(parameters, layout: layout)?.1, -1e9)
    }

    /// A checkpoint's settings get the flags' range checks: a forged one asked for 10,000
    /// threads (13 GB), and a NaN epoch in its history trapped in an Int conversion.
    func testForgedCheckpointsAreRefusedWithOneLine() throws {
        let directory = NSTemporaryDirectory() + "stn-forged-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/forged.checkpoint.h5"
        let t = try trainer(configuration(.cnn))
        let good = t.state

        func assertRefused(
            _ state: TrainingState, _ c: TrainingConfiguration, _ message: String, line: UInt = #line
        ) throws {
            try Checkpoint.write(state, configuration: c, to: path)
            XCTAssertThrowsError(try Checkpoint.read(path), line: line) {
                XCTAssertEqual("\($0)", "\(path): \(message)", line: line)
            }
        }
        var c = configuration(.cnn)
        c.threads = 10_000
        try assertRefused(good, c, "checkpoint attribute 'threads' is out of range (10000)")
        c = configuration(.cnn)
        c.recipe.epochs = 1 << 40
        try assertRefused(good, c, "checkpoint attribute 'epochs' is out of range (1099511627776)")
        c = configuration(.cnn)
        c.recipe.schedule = .cosine(warmupEpochs: 1e300)
        try assertRefused(good, c, "checkpoint attribute 'schedule_warmup_epochs' is out of range (1e+300)")
        var state = good
        state.history = [
            EpochRecord(
                epoch: 0, trainLoss: 1, trainAccuracy: 0.5, testLoss: 1, testAccuracy: 0.5, seconds: 1,
                learningRate: 0.1)
        ]
        try assertRefused(state, configuration(.cnn), "dataset 'training/history' row 0 has epoch 0.0")

        // A position outside the run, or a parameter no healthy run reaches, is refused by the trainer.
        state = good
        state.batch = 1 << 60
        XCTAssertThrowsError(try trainer(configuration(.cnn), resume: state)) {
            XCTAssertTrue("\($0)".hasPrefix("the checkpoint's position (epoch 0, batch 1152921504606846976"), "\($0)")
        }
        state = good
        state.parameters[0] = 1e20
        XCTAssertThrowsError(try trainer(configuration(.cnn), resume: state)) {
            XCTAssertEqual(
                "\($0)", "the checkpoint's parameter 'convs.0.weight' is 1e+20, beyond the +-100.0 of any healthy run")
        }
    }

    func testWeightFileCarriesTheRecipe() throws {
        let t = try trainer(configuration(.cnn))
        try runToEnd(t, stopAfter: 1)
        let file = try t.weightFile()
        XCTAssertEqual(file.attributes["recipe"], .string("default"))
        XCTAssertEqual(file.attributes["batch_size"], .int(64))
        XCTAssertEqual(file.attributes["seed"], .int(5))
        XCTAssertEqual(file.weights.architecture, .cnn)
    }
}

/// Fine-tuning: a run starts from given parameters (`--init`), keeps frozen prefixes as they
/// are, trains a model with batch norms on the batch's statistics, and feeds a 3-channel model
/// each grey digit in every channel.
final class FineTuningTests: XCTestCase {
    static let rgbModel = """
        stn-model 1 name=rgb-bn
        input image 3x42x42
        conv loc.0 image out=8 kernel=5 stride=2 bias=0
        batchnorm loc.1 loc.0
        relu loc.2 loc.1
        global_avgpool loc.3 loc.2
        linear fc_loc loc.3 out=6
        affine_grid grid fc_loc size=42x42
        grid_sample sampled image,grid
        conv c0 sampled out=8 kernel=5 stride=2
        batchnorm c1 c0
        relu6 c2 c1
        global_avgpool c3 c2
        linear out c3 out=10
        """

    func testInitFreezeAndBatchNormTraining() throws {
        let d = try TrainingRunTests.data()
        let architecture = try Architecture(parsing: Self.rgbModel)
        var recipe = Recipe.standard
        recipe.epochs = 1
        recipe.batchSize = 64
        var configuration = TrainingConfiguration(
            architecture: architecture, recipe: recipe, seed: 5, threads: 2, limit: 640, testLimit: 200)
        configuration.frozen = ["c0."]
        var initial = Initializer.pytorchDefault(architecture, seed: 99)
        try initial.set("c0.bias", [Float](repeating: 0.125, count: 8))
        let trainer = try Trainer(
            configuration: configuration, train: d.train, test: d.test, testLabels: d.labels, initial: initial)
        let layout = trainer.network.layout
        let start = trainer.state.parameters
        XCTAssertEqual(Array(start[layout.range(of: "c0.bias")!]), [Float](repeating: 0.125, count: 8))
        try trainer.run(events: { _ in }, shouldStop: { false }, checkpoint: { _ in })
        let end = trainer.state.parameters
        for name in ["c0.weight", "c0.bias"] {
            XCTAssertEqual(Array(start[layout.range(of: name)!]), Array(end[layout.range(of: name)!]), name)
        }
        for name in ["loc.0.weight", "c1.weight", "out.weight"] {
            XCTAssertNotEqual(Array(start[layout.range(of: name)!]), Array(end[layout.range(of: name)!]), name)
        }
        // The running statistics moved towards the batches' (from mean 0, variance 1).
        let mean = Array(end[layout.range(of: "c1.running_mean")!])
        XCTAssertTrue(mean.contains { $0 != 0 })
        XCTAssertTrue(trainer.state.history.last!.testLoss.isFinite)
    }
}
