import Foundation
import STNData
import STNModel

/// What the training loop reports while it runs.
public enum TrainingEvent: Sendable {
    /// After each optimiser step.
    case batch(BatchProgress)
    /// After each epoch's pass over the test set, before its `.epoch` record: every test
    /// image's prediction (for per-class accuracy, a confusion matrix).
    case evaluation(Evaluation)
    /// After each epoch's evaluation on the test set.
    case epoch(EpochRecord)
}

public struct BatchProgress: Sendable {
    public var epoch: Int  // 1-based
    public var epochs: Int
    public var batch: Int  // 1-based within the epoch
    public var batchesPerEpoch: Int
    /// Mean training loss over the epoch so far.
    public var runningLoss: Double
    public var imagesPerSecond: Double
    /// Estimated seconds to the end of training.
    public var secondsRemaining: Double
    public var learningRate: Double
    /// Mean and largest global L2 norm of the batch gradients so far this epoch (before any
    /// clipping): spikes show an unstable rate and guide `--clip-norm`.
    public var meanGradientNorm: Double
    public var maxGradientNorm: Double
}

/// The model on the test set: mean loss, accuracy, and each image's predicted class beside
/// its label, in test-set order.
public struct Evaluation: Sendable, Equatable {
    public var loss: Double
    public var accuracy: Double
    public var predictions: [Int]
    public var labels: [UInt8]
}

/// Why training stopped early.
public enum TrainingError: Error, CustomStringConvertible {
    case diverged(epoch: Int, batch: Int, loss: Double)
    /// A step left a parameter non-finite or beyond `Trainer.parameterLimit`.
    case parameterDiverged(epoch: Int, batch: Int, parameter: String, value: Float)
    case invalid(String)

    public var description: String {
        switch self {
        case .diverged(let e, let b, let loss):
            return
                "training diverged: loss is \(loss) at epoch \(e), batch \(b); lower --lr (the last good checkpoint is kept)"
        case .parameterDiverged(let e, let b, let name, let value):
            return
                "training diverged: the step at epoch \(e), batch \(b) took parameter '\(name)' to \(value) (healthy runs stay within +-\(Trainer.parameterLimit)); lower --lr (the last good checkpoint is kept)"
        case .invalid(let message):
            return message
        }
    }
}

/// The training loop: batches drawn from the training data in a fresh order every epoch
/// (distorted MNIST drawn afresh too), SGD, per-epoch evaluation on the test data,
/// checkpoints. Deterministic for a given seed and thread count.
///
/// `run` reads as its steps: next batch, forward and backward, update, record, report; and
/// at the end of each epoch, evaluate and checkpoint.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public private(set) var state: TrainingState
    public let network: Network
    public let data: TrainingData

    /// Reads, fits and (`--augment`: a fresh jitter of every training frame, every epoch)
    /// jitters the batches on the worker threads.
    private let loader: BatchLoader
    private let trainCount: Int
    private let testCount: Int
    /// One batch of frames and labels; evaluation reuses it a batch of test images at a time.
    private var images: [Float]
    private var labels: [UInt8]

    /// - Parameters:
    ///   - data: the training and test images and how they become the model's frames; they
    ///     are checked here (every image file decoded once, every label in range).
    ///   - resume: a checkpoint's state, or nil to start from PyTorch's default initialisation.
    ///   - initial: parameters to start from instead (`--init`: a weight file of this model,
    ///     such as one stn-convert wrote).
    public init(
        configuration: TrainingConfiguration, data: TrainingData, resume: TrainingState? = nil,
        initial: ModelWeights? = nil
    ) throws {
        let recipe = configuration.recipe
        guard recipe.epochs > 0, recipe.batchSize > 0, recipe.learningRate > 0, configuration.threads > 0 else {
            throw TrainingError.invalid("epochs, batch size, learning rate and threads must be positive")
        }
        try data.check(for: configuration.architecture, threads: configuration.threads)
        self.configuration = configuration
        self.data = data
        trainCount = min(configuration.limit ?? data.train.count, data.train.count)
        guard trainCount > 0 else { throw TrainingError.invalid("--limit leaves no training images") }
        testCount = min(configuration.testLimit ?? data.test.count, data.test.count)
        do {
            network = try Network(
                architecture: configuration.architecture, maxBatch: recipe.batchSize, threads: configuration.threads)
        } catch {
            throw TrainingError.invalid("\(error)")
        }
        loader = BatchLoader(
            fitting: data.fitting, threads: configuration.threads, augmentation: configuration.augmentation,
            seed: configuration.seed)
        images = [Float](repeating: 0, count: recipe.batchSize * network.imageCount)
        labels = [UInt8](repeating: 0, count: recipe.batchSize)
        if let resume {
            try Trainer.checkResumable(resume, layout: network.layout, recipe: recipe, trainCount: trainCount)
            state = resume
        } else {
            let weights = initial ?? Initializer.pytorchDefault(configuration.architecture, seed: configuration.seed)
            state = TrainingState(
                parameters: network.layout.flatten(weights), velocity: [], epoch: 0, batch: 0, iteration: 0,
                epochLossSum: 0, epochCorrect: 0, epochSeen: 0, elapsed: 0, history: [])
        }
        network.parameters = state.parameters
    }

    /// MNIST's training digits (distorted as the configuration says, afresh every epoch) and
    /// a fixed test set with its labels.
    public convenience init(
        configuration: TrainingConfiguration, train: MNISTSplit, test: IDXImages, testLabels: [UInt8],
        resume: TrainingState? = nil, initial: ModelWeights? = nil
    ) throws {
        let data = try TrainingData.mnist(
            train: train, test: test, testLabels: testLabels, distortion: configuration.distortion,
            seed: configuration.seed, architecture: configuration.architecture)
        try self.init(configuration: configuration, data: data, resume: resume, initial: initial)
    }

    /// A checkpoint's position must lie inside this run (it indexes the permutation and
    /// drives the schedule), its sizes fit the model and its parameters be sane.
    private static func checkResumable(
        _ resume: TrainingState, layout: ParameterLayout, recipe: Recipe, trainCount: Int
    ) throws {
        let batches = (trainCount + recipe.batchSize - 1) / recipe.batchSize
        guard resume.epoch >= 0, resume.epoch <= recipe.epochs, resume.batch >= 0, resume.batch <= batches,
            resume.iteration >= 0, resume.iteration <= recipe.epochs * batches, resume.epochSeen >= 0,
            resume.epochSeen <= trainCount, resume.epochCorrect >= 0, resume.epochCorrect <= resume.epochSeen,
            resume.parameters.count == layout.total,
            resume.velocity.isEmpty || resume.velocity.count == layout.total,
            resume.secondMoment.isEmpty || resume.secondMoment.count == layout.total
        else {
            throw TrainingError.invalid(
                "the checkpoint's position (epoch \(resume.epoch), batch \(resume.batch), iteration \(resume.iteration)) or sizes do not fit its run"
            )
        }
        if let (name, value) = firstAbsurdParameter(resume.parameters, layout: layout) {
            throw TrainingError.invalid(
                "the checkpoint's parameter '\(name)' is \(value), beyond the +-\(parameterLimit) of any healthy run")
        }
    }

    public var batchesPerEpoch: Int {
        (trainCount + configuration.recipe.batchSize - 1) / configuration.recipe.batchSize
    }
    public var isFinished: Bool { state.epoch >= configuration.recipe.epochs }
    /// Images trained on per epoch, and evaluated on after it.
    public var trainingImages: Int { trainCount }
    public var testImages: Int { testCount }

    /// The current parameters as weights (with the provenance attributes of the run).
    public func weightFile() throws -> WeightFile {
        var attributes = configuration.attributes
        if let last = state.history.last {
            attributes["test_accuracy"] = .double(last.testAccuracy)
            attributes["test_loss"] = .double(last.testLoss)
            attributes["epochs_trained"] = .int(last.epoch)
            attributes["training_seconds"] = .double(last.seconds)
        }
        if configuration.dataSource != nil {
            attributes["train_images"] = .int(trainCount)
            attributes["test_images"] = .int(testCount)
        }
        attributes["created"] = .string(ISO8601DateFormatter().string(from: Date()))
        return WeightFile(
            weights: try network.layout.weights(from: state.parameters, architecture: configuration.architecture),
            attributes: attributes)
    }

    // MARK: The loop

    /// What one run of `run` carries from step to step besides `state`.
    private struct Session {
        var optimizer: SGD
        /// The localisation nets' parameters (their own rate and update rule).
        let localisation: [Range<Int>]
        /// Parameters no step moves: batch norms' running statistics, fixed values, --freeze.
        let fixed: [Range<Int>]
        let started = Date()
        /// Training seconds before this run started (a resumed run's).
        let elapsedBefore: Double
        var imagesSeen = 0
        /// Display only (not checkpointed): gradient norms this epoch.
        var normSum = 0.0
        var normMax = 0.0
        var normBatches = 0

        var seconds: Double { Date().timeIntervalSince(started) }
    }

    /// Trains until the recipe's last epoch or until `shouldStop` returns true (checked after
    /// every batch; the state then points at the next batch so a checkpoint resumes exactly).
    /// `checkpoint` is called at the end of every epoch.
    public func run(events: (TrainingEvent) -> Void, shouldStop: () -> Bool, checkpoint: (TrainingState) throws -> Void)
        throws
    {
        var session = startSession()
        while !isFinished {
            let order = Trainer.permutation(count: trainCount, seed: configuration.seed, epoch: state.epoch)
            while state.batch < batchesPerEpoch {
                let count = try nextBatch(order)
                let (loss, correct) = try forwardBackward(count)
                let (rate, gradientNorm) = try update(&session)
                record(count: count, loss: loss, correct: correct, gradientNorm: gradientNorm, session: &session)
                report(events, rate: rate, session: session)
                if shouldStop() { return }
            }
            try finishEpoch(events, checkpoint: checkpoint, session: session)
            if shouldStop() { return }
        }
    }

    private func startSession() -> Session {
        let recipe = configuration.recipe
        // Batch norms' running statistics follow the batches, and fixed values and frozen
        // parameters stay.
        let frozen = configuration.architecture.parameters.compactMap { spec in
            configuration.frozen.contains { spec.name.hasPrefix($0) } ? network.layout.range(of: spec.name) : nil
        }
        return Session(
            optimizer: SGD(
                momentum: recipe.momentum, weightDecay: recipe.weightDecay, velocity: state.velocity,
                secondMoment: state.secondMoment),
            localisation: network.localisationRanges, fixed: network.fixedRanges + frozen,
            elapsedBefore: state.elapsed)
    }

    /// Loads the next batch of the epoch's order into `images` and `labels`; its size.
    private func nextBatch(_ order: [Int]) throws -> Int {
        let batchSize = configuration.recipe.batchSize
        let first = state.batch * batchSize
        let count = min(batchSize, trainCount - first)
        try images.withUnsafeMutableBufferPointer { images in
            try labels.withUnsafeMutableBufferPointer { labels in
                try loader.load(
                    data.train, indices: order[first ..< first + count], epoch: state.epoch,
                    images: images.baseAddress!, labels: labels.baseAddress!, augment: true)
            }
        }
        return count
    }

    /// The batch's mean loss and correct predictions; the gradients into `network.gradients`.
    private func forwardBackward(_ count: Int) throws -> (loss: Double, correct: Int) {
        let (loss, correct) = network.forwardBackward(
            images: images, labels: labels, count: count,
            labelSmoothing: Float(configuration.recipe.labelSmoothing),
            dropoutSeed: configuration.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(state.iteration) << 24)
        guard loss.isFinite else {
            throw TrainingError.diverged(epoch: state.epoch + 1, batch: state.batch + 1, loss: loss)
        }
        return (loss, correct)
    }

    /// One optimiser step at the schedule's rate (the localisation net at its own rate and
    /// rule, fixed parameters left out); the rate and the gradient's norm before clipping.
    private func update(_ session: inout Session) throws -> (rate: Double, gradientNorm: Double) {
        let recipe = configuration.recipe
        let total = network.layout.total
        let rate = recipe.rate(iteration: state.iteration, iterationsPerEpoch: batchesPerEpoch)
        var segments: [(range: Range<Int>, rate: Double, update: SGD.Update)] = [(0 ..< total, rate, .sgd)]
        let localisation = session.localisation
        if !localisation.isEmpty, recipe.localisationRateScale != 1 || recipe.localisationOptimizer != .sgd {
            let update: SGD.Update = recipe.localisationOptimizer == .adam ? .adam(step: state.iteration + 1) : .sgd
            segments = []
            var start = 0
            for range in localisation {
                if start < range.lowerBound { segments.append((start ..< range.lowerBound, rate, .sgd)) }
                segments.append((range, rate * recipe.localisationRateScale, update))
                start = range.upperBound
            }
            if start < total { segments.append((start ..< total, rate, .sgd)) }
        }
        segments = Trainer.excluding(session.fixed, from: segments)
        let gradientNorm = session.optimizer.step(
            parameters: &network.parameters, gradients: network.gradients, segments: segments,
            maxGradientNorm: recipe.gradientClipNorm > 0 ? recipe.gradientClipNorm : nil)
        if let (name, value) = Trainer.firstAbsurdParameter(network.parameters, layout: network.layout) {
            throw TrainingError.parameterDiverged(
                epoch: state.epoch + 1, batch: state.batch + 1, parameter: name, value: value)
        }
        return (rate, gradientNorm)
    }

    /// Moves the state past the batch: counts, sums, parameters and optimiser.
    private func record(count: Int, loss: Double, correct: Int, gradientNorm: Double, session: inout Session) {
        if state.batch == 0 {
            session.normSum = 0
            session.normMax = 0
            session.normBatches = 0
        }
        session.normSum += gradientNorm
        session.normMax = max(session.normMax, gradientNorm)
        session.normBatches += 1
        session.imagesSeen += count
        state.iteration += 1
        state.batch += 1
        state.epochLossSum += loss * Double(count)
        state.epochCorrect += correct
        state.epochSeen += count
        state.parameters = network.parameters
        state.velocity = session.optimizer.velocity
        state.secondMoment = session.optimizer.secondMoment
        state.elapsed = session.elapsedBefore + session.seconds
    }

    /// The batch's progress event: running loss, speed, time left, rate, gradient norms.
    private func report(_ events: (TrainingEvent) -> Void, rate: Double, session: Session) {
        let recipe = configuration.recipe
        let speed = Double(session.imagesSeen) / max(session.seconds, 1e-9)
        let remainingImages = Double((recipe.epochs - state.epoch) * trainCount - state.epochSeen)
        // Evaluation costs about a third of a training pass per test image.
        let remainingTests = Double((recipe.epochs - state.epoch) * testCount) / 3
        events(
            .batch(
                BatchProgress(
                    epoch: state.epoch + 1, epochs: recipe.epochs, batch: state.batch,
                    batchesPerEpoch: batchesPerEpoch, runningLoss: state.epochLossSum / Double(state.epochSeen),
                    imagesPerSecond: speed, secondsRemaining: (remainingImages + remainingTests) / max(speed, 1e-9),
                    learningRate: rate, meanGradientNorm: session.normSum / Double(session.normBatches),
                    maxGradientNorm: session.normMax)))
    }

    /// The end of an epoch: evaluation, its record in the history, the next epoch's start,
    /// the events and the checkpoint.
    private func finishEpoch(
        _ events: (TrainingEvent) -> Void, checkpoint: (TrainingState) throws -> Void, session: Session
    ) throws {
        let evaluation = try evaluate()
        let record = EpochRecord(
            epoch: state.epoch + 1, trainLoss: state.epochLossSum / Double(max(1, state.epochSeen)),
            trainAccuracy: Double(state.epochCorrect) / Double(max(1, state.epochSeen)),
            testLoss: evaluation.loss, testAccuracy: evaluation.accuracy,
            seconds: session.elapsedBefore + session.seconds,
            learningRate: configuration.recipe.rate(
                iteration: max(0, state.iteration - 1), iterationsPerEpoch: batchesPerEpoch))
        guard evaluation.loss.isFinite else {
            throw TrainingError.diverged(epoch: state.epoch + 1, batch: state.batch, loss: evaluation.loss)
        }
        state.history.append(record)
        state.epoch += 1
        state.batch = 0
        state.epochLossSum = 0
        state.epochCorrect = 0
        state.epochSeen = 0
        state.elapsed = record.seconds
        events(.evaluation(evaluation))
        events(.epoch(record))
        try checkpoint(state)
    }

    /// `segments` without the parameters in `fixed` (split around them).
    static func excluding<Update>(
        _ fixed: [Range<Int>], from segments: [(range: Range<Int>, rate: Double, update: Update)]
    )
        -> [(range: Range<Int>, rate: Double, update: Update)]
    {
        guard !fixed.isEmpty else { return segments }
        let sorted = fixed.sorted { $0.lowerBound < $1.lowerBound }
        var result: [(range: Range<Int>, rate: Double, update: Update)] = []
        for segment in segments {
            var start = segment.range.lowerBound
            for range in sorted where range.overlaps(segment.range) {
                if start < range.lowerBound {
                    result.append((start ..< range.lowerBound, segment.rate, segment.update))
                }
                start = max(start, range.upperBound)
            }
            if start < segment.range.upperBound {
                result.append((start ..< segment.range.upperBound, segment.rate, segment.update))
            }
        }
        return result
    }

    /// The largest parameter magnitude a run may reach: trained weights stay below 1, so a
    /// value past this means the run has diverged. It is checked after every step, before
    /// the next forward pass: with every parameter within it, the localisation net's theta
    /// stays far inside the range the sampler converts to pixel indices (below 1e18),
    /// whereas unchecked a huge rate makes that conversion trap.
    public static let parameterLimit: Float = 100

    /// The first parameter that is not finite or is beyond `parameterLimit`: its tensor's
    /// name and value, or nil if all are in range.
    static func firstAbsurdParameter(_ parameters: [Float], layout: ParameterLayout) -> (String, Float)? {
        let limit = parameterLimit
        // `!(|v| <= limit)` also catches NaN.
        guard let index = parameters.firstIndex(where: { !(abs($0) <= limit) }) else { return nil }
        let tensor = layout.offsets.lastIndex { $0 <= index } ?? 0
        return (layout.names[tensor], parameters[index])
    }

    /// The model on the test images (the first `testImages` of the test data), a batch at a
    /// time: mean NLL, accuracy and every prediction.
    public func evaluate() throws -> Evaluation {
        let chunk = configuration.recipe.batchSize
        let classes = network.classCount
        var logProbs = [Float](repeating: 0, count: chunk * classes)
        var predictions: [Int] = []
        var truth: [UInt8] = []
        predictions.reserveCapacity(testCount)
        truth.reserveCapacity(testCount)
        var lossSum = 0.0
        var correct = 0
        var start = 0
        while start < testCount {
            let count = min(chunk, testCount - start)
            try images.withUnsafeMutableBufferPointer { images in
                try labels.withUnsafeMutableBufferPointer { labels in
                    try loader.load(
                        data.test, indices: Array(start ..< start + count)[...], epoch: 0,
                        images: images.baseAddress!, labels: labels.baseAddress!)
                    let r = logProbs.withUnsafeMutableBufferPointer {
                        network.evaluate(
                            images: images.baseAddress!, labels: labels.baseAddress!, count: count,
                            logProbs: $0.baseAddress!, thetas: nil)
                    }
                    lossSum += r.lossSum
                    correct += r.correct
                }
            }
            for i in 0 ..< count {
                // The first of equal maxima, as the network counts a correct answer.
                var best = 0
                for k in 1 ..< max(1, classes) where logProbs[i * classes + k] > logProbs[i * classes + best] {
                    best = k
                }
                predictions.append(best)
            }
            truth += labels[..<count]
            start += count
        }
        let n = Double(max(1, testCount))
        return Evaluation(
            loss: lossSum / n, accuracy: Double(correct) / n, predictions: predictions, labels: truth)
    }

    /// Test image `index` as the model takes it: height x width x channels floats in 0 ... 1.
    public func testImage(_ index: Int) throws -> [Float] {
        var image = [Float](repeating: 0, count: network.imageCount)
        var label: UInt8 = 0
        try image.withUnsafeMutableBufferPointer { image in
            try loader.load(
                data.test, indices: [index][...], epoch: 0, images: image.baseAddress!, labels: &label)
        }
        return image
    }

    /// The order images are visited in an epoch: a Fisher-Yates shuffle seeded by
    /// (seed, epoch), so it is the same on any machine and for any thread count.
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var order = Array(0 ..< count)
        var random = PRNG(seed: seed, stream: 0x5EED_0000 &+ UInt64(epoch))
        var i = count - 1
        while i > 0 {
            let j = Int(random.next() % UInt64(i + 1))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }
}

extension Network {
    /// Parameters of the localisation nets (the layers upstream of a grid generator), as
    /// contiguous ranges of the flat vector in order; empty for models without a transformer.
    var localisationRanges: [Range<Int>] {
        let layers = architecture.localisationLayers
        var ranges: [Range<Int>] = []
        for spec in architecture.layers where layers.contains(spec.name) {
            for parameter in spec.parameters {
                guard let range = layout.range(of: parameter.name) else { continue }
                if let last = ranges.last, last.upperBound == range.lowerBound {
                    ranges[ranges.count - 1] = last.lowerBound ..< range.upperBound
                } else {
                    ranges.append(range)
                }
            }
        }
        return ranges
    }
}
