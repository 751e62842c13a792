import Foundation
import STNData
import STNModel

/// What the training loop reports while it runs.
public enum TrainingEvent: Sendable {
    /// After each optimiser step.
    case batch(BatchProgress)
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

/// The training loop: RTS batches drawn fresh every epoch, SGD, per-epoch evaluation on
/// the fixed RTS test set, checkpoints. Deterministic for a given seed and thread count.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public private(set) var state: TrainingState
    public let network: Network

    private let train: MNISTSplit
    /// The training data's distortion (nil for plain digits) and its scratch.
    private let distortion: (any DigitDistortion)?
    private let workspace: DistortionWorkspace
    /// The fixed test set (MNIST t10k, distorted with seed 1 where the data is), as floats in [0, 1].
    let testImages: [Float]
    let testLabels: [UInt8]
    private let trainCount: Int
    /// Channels of the model's input: each grey pixel is repeated in every one.
    private let channels: Int

    /// - Parameters:
    ///   - train: MNIST training split (28x28 digits).
    ///   - test: the test set for the configuration's distortion (`Distortion.testSet`) and its labels.
    ///   - resume: a checkpoint's state, or nil to start from PyTorch's default initialisation.
    ///   - initial: parameters to start from instead (`--init`: a weight file of this model,
    ///     such as one stn-convert wrote).
    public init(
        configuration: TrainingConfiguration, train: MNISTSplit, test: IDXImages, testLabels: [UInt8],
        resume: TrainingState? = nil, initial: ModelWeights? = nil
    ) throws {
        let recipe = configuration.recipe
        guard recipe.epochs > 0, recipe.batchSize > 0, recipe.learningRate > 0, configuration.threads > 0 else {
            throw TrainingError.invalid("epochs, batch size, learning rate and threads must be positive")
        }
        let side = configuration.distortion.side
        let input = configuration.architecture.inputShape
        // A model of several channels sees each grey digit in every channel.
        guard input.height == side, input.width == side else {
            throw TrainingError.invalid(
                "the \(configuration.architecture.name) model takes \(input) frames; --distortion "
                    + "\(configuration.distortion.rawValue) gives \(side)x\(side) digits")
        }
        channels = input.channels
        guard test.rows == side, test.columns == side, test.count == testLabels.count else {
            throw TrainingError.invalid("the test set must be \(side)x\(side) images with one label each")
        }
        if let bad = (testLabels + train.labels).first(where: { Int($0) >= configuration.architecture.classCount }) {
            throw TrainingError.invalid(
                "label \(bad) is outside the model's \(configuration.architecture.classCount) classes")
        }
        self.configuration = configuration
        self.train = train
        trainCount = min(configuration.limit ?? train.images.count, train.images.count)
        guard trainCount > 0 else { throw TrainingError.invalid("--limit leaves no training images") }
        distortion = configuration.distortion.distortion(seed: configuration.seed)
        workspace = DistortionWorkspace(count: distortion?.workspaceCount ?? 0)
        let testCount = min(configuration.testLimit ?? test.count, test.count)
        testImages = test.pixels[0 ..< testCount * side * side].flatMap {
            [Float](repeating: Float($0) / 255, count: input.channels)
        }
        self.testLabels = Array(testLabels.prefix(testCount))
        do {
            network = try Network(
                architecture: configuration.architecture, maxBatch: recipe.batchSize, threads: configuration.threads)
        } catch {
            throw TrainingError.invalid("\(error)")
        }
        if let resume {
            // The position must lie inside this run: it indexes the permutation and drives
            // the schedule.
            let batches = (trainCount + recipe.batchSize - 1) / recipe.batchSize
            guard resume.epoch >= 0, resume.epoch <= recipe.epochs, resume.batch >= 0, resume.batch <= batches,
                resume.iteration >= 0, resume.iteration <= recipe.epochs * batches, resume.epochSeen >= 0,
                resume.epochSeen <= trainCount, resume.epochCorrect >= 0, resume.epochCorrect <= resume.epochSeen,
                resume.parameters.count == network.layout.total,
                resume.velocity.isEmpty || resume.velocity.count == network.layout.total,
                resume.secondMoment.isEmpty || resume.secondMoment.count == network.layout.total
            else {
                throw TrainingError.invalid(
                    "the checkpoint's position (epoch \(resume.epoch), batch \(resume.batch), iteration \(resume.iteration)) or sizes do not fit its run"
                )
            }
            if let (name, value) = Trainer.firstAbsurdParameter(resume.parameters, layout: network.layout) {
                throw TrainingError.invalid(
                    "the checkpoint's parameter '\(name)' is \(value), beyond the +-\(Trainer.parameterLimit) of any healthy run"
                )
            }
            state = resume
        } else {
            let weights = initial ?? Initializer.pytorchDefault(configuration.architecture, seed: configuration.seed)
            state = TrainingState(
                parameters: network.layout.flatten(weights), velocity: [], epoch: 0, batch: 0, iteration: 0,
                epochLossSum: 0, epochCorrect: 0, epochSeen: 0, elapsed: 0, history: [])
        }
        network.parameters = state.parameters
    }

    public var batchesPerEpoch: Int {
        (trainCount + configuration.recipe.batchSize - 1) / configuration.recipe.batchSize
    }
    public var isFinished: Bool { state.epoch >= configuration.recipe.epochs }

    /// The current parameters as weights (with the provenance attributes of the run).
    public func weightFile() throws -> WeightFile {
        var attributes = configuration.attributes
        if let last = state.history.last {
            attributes["test_accuracy"] = .double(last.testAccuracy)
            attributes["test_loss"] = .double(last.testLoss)
            attributes["epochs_trained"] = .int(last.epoch)
            attributes["training_seconds"] = .double(last.seconds)
        }
        attributes["created"] = .string(ISO8601DateFormatter().string(from: Date()))
        return WeightFile(
            weights: try network.layout.weights(from: state.parameters, architecture: configuration.architecture),
            attributes: attributes)
    }

    /// Trains until the recipe's last epoch or until `shouldStop` returns true (checked after
    /// every batch; the state then points at the next batch so a checkpoint resumes exactly).
    /// `checkpoint` is called at the end of every epoch.
    public func run(events: (TrainingEvent) -> Void, shouldStop: () -> Bool, checkpoint: (TrainingState) throws -> Void)
        throws
    {
        let recipe = configuration.recipe
        let batchSize = recipe.batchSize
        let side = configuration.distortion.side
        let pixels = side * side
        let digitPixels = RTSDistortion.digitSize * RTSDistortion.digitSize
        var canvas = [UInt8](repeating: 0, count: pixels)
        var images = [Float](repeating: 0, count: batchSize * pixels * channels)
        let channels = self.channels
        var labels = [UInt8](repeating: 0, count: batchSize)
        var optimizer = SGD(
            momentum: recipe.momentum, weightDecay: recipe.weightDecay, velocity: state.velocity,
            secondMoment: state.secondMoment)
        let localisation = network.localisationRanges
        // --augment: a fresh jitter of every training image, every epoch.
        let augmentation = configuration.augmentation.map {
            TrainingAugmentation($0, seed: configuration.seed, width: side, height: side, channels: channels)
        }
        // Batch norms' running statistics follow the batches, and fixed values and frozen
        // parameters stay.
        let fixed =
            network.fixedRanges
            + configuration.architecture.parameters.compactMap { spec in
                configuration.frozen.contains { spec.name.hasPrefix($0) } ? network.layout.range(of: spec.name) : nil
            }
        let started = Date()
        let segmentStartElapsed = state.elapsed
        var imagesThisSegment = 0
        // Display only (not checkpointed): gradient norms this epoch.
        var normSum = 0.0
        var normMax = 0.0
        var normBatches = 0

        while state.epoch < recipe.epochs {
            let order = Trainer.permutation(count: trainCount, seed: configuration.seed, epoch: state.epoch)
            while state.batch < batchesPerEpoch {
                let first = state.batch * batchSize
                let count = min(batchSize, trainCount - first)
                // A fresh distortion for every image, every epoch.
                train.images.pixels.withUnsafeBufferPointer { digits in
                    for j in 0 ..< count {
                        let index = order[first + j]
                        let digit = digits.baseAddress! + index * digitPixels
                        if let distortion {
                            canvas.withUnsafeMutableBufferPointer { out in
                                distortion.render(
                                    digit: digit, index: index, epoch: state.epoch, into: out.baseAddress!,
                                    workspace: workspace)
                            }
                            for p in 0 ..< pixels {
                                for c in 0 ..< channels {
                                    images[(j * pixels + p) * channels + c] = Float(canvas[p]) * (1 / 255)
                                }
                            }
                        } else {
                            for p in 0 ..< pixels {
                                for c in 0 ..< channels {
                                    images[(j * pixels + p) * channels + c] = Float(digit[p]) * (1 / 255)
                                }
                            }
                        }
                        labels[j] = train.labels[index]
                        if let augmentation {
                            images.withUnsafeMutableBufferPointer {
                                augmentation.apply(
                                    to: $0.baseAddress! + j * pixels * channels, index: index, epoch: state.epoch)
                            }
                        }
                    }
                }
                let (loss, correct) = network.forwardBackward(
                    images: images, labels: labels, count: count,
                    labelSmoothing: Float(recipe.labelSmoothing),
                    dropoutSeed: configuration.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(state.iteration) << 24)
                guard loss.isFinite else {
                    throw TrainingError.diverged(epoch: state.epoch + 1, batch: state.batch + 1, loss: loss)
                }
                let rate = recipe.rate(iteration: state.iteration, iterationsPerEpoch: batchesPerEpoch)
                var segments: [(range: Range<Int>, rate: Double, update: SGD.Update)] = [
                    (0 ..< network.layout.total, rate, .sgd)
                ]
                if !localisation.isEmpty, recipe.localisationRateScale != 1 || recipe.localisationOptimizer != .sgd {
                    let update: SGD.Update =
                        recipe.localisationOptimizer == .adam ? .adam(step: state.iteration + 1) : .sgd
                    segments = []
                    var start = 0
                    for range in localisation {
                        if start < range.lowerBound { segments.append((start ..< range.lowerBound, rate, .sgd)) }
                        segments.append((range, rate * recipe.localisationRateScale, update))
                        start = range.upperBound
                    }
                    if start < network.layout.total { segments.append((start ..< network.layout.total, rate, .sgd)) }
                }
                segments = Trainer.excluding(fixed, from: segments)
                let gradientNorm = optimizer.step(
                    parameters: &network.parameters, gradients: network.gradients, segments: segments,
                    maxGradientNorm: recipe.gradientClipNorm > 0 ? recipe.gradientClipNorm : nil)
                if let (name, value) = Trainer.firstAbsurdParameter(network.parameters, layout: network.layout) {
                    throw TrainingError.parameterDiverged(
                        epoch: state.epoch + 1, batch: state.batch + 1, parameter: name, value: value)
                }
                if state.batch == 0 {
                    normSum = 0
                    normMax = 0
                    normBatches = 0
                }
                normSum += gradientNorm
                normMax = max(normMax, gradientNorm)
                normBatches += 1
                state.iteration += 1
                state.batch += 1
                state.epochLossSum += loss * Double(count)
                state.epochCorrect += correct
                state.epochSeen += count
                imagesThisSegment += count

                let seconds = Date().timeIntervalSince(started)
                let speed = Double(imagesThisSegment) / max(seconds, 1e-9)
                let remainingImages = Double((recipe.epochs - state.epoch) * trainCount - state.epochSeen)
                // Evaluation costs about a third of a training pass per test image.
                let remainingTests = Double((recipe.epochs - state.epoch) * testLabels.count) / 3
                events(
                    .batch(
                        BatchProgress(
                            epoch: state.epoch + 1, epochs: recipe.epochs, batch: state.batch,
                            batchesPerEpoch: batchesPerEpoch, runningLoss: state.epochLossSum / Double(state.epochSeen),
                            imagesPerSecond: speed,
                            secondsRemaining: (remainingImages + remainingTests) / max(speed, 1e-9),
                            learningRate: rate, meanGradientNorm: normSum / Double(normBatches),
                            maxGradientNorm: normMax)))
                state.parameters = network.parameters
                state.velocity = optimizer.velocity
                state.secondMoment = optimizer.secondMoment
                state.elapsed = segmentStartElapsed + seconds
                if shouldStop() { return }
            }

            let (testLoss, testAccuracy) = evaluate()
            let record = EpochRecord(
                epoch: state.epoch + 1, trainLoss: state.epochLossSum / Double(max(1, state.epochSeen)),
                trainAccuracy: Double(state.epochCorrect) / Double(max(1, state.epochSeen)),
                testLoss: testLoss, testAccuracy: testAccuracy,
                seconds: segmentStartElapsed + Date().timeIntervalSince(started),
                learningRate: recipe.rate(iteration: max(0, state.iteration - 1), iterationsPerEpoch: batchesPerEpoch))
            guard testLoss.isFinite else {
                throw TrainingError.diverged(epoch: state.epoch + 1, batch: state.batch, loss: testLoss)
            }
            state.history.append(record)
            state.epoch += 1
            state.batch = 0
            state.epochLossSum = 0
            state.epochCorrect = 0
            state.epochSeen = 0
            state.elapsed = record.seconds
            events(.epoch(record))
            try checkpoint(state)
            if shouldStop() { return }
        }
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

    /// Mean NLL and accuracy on the fixed test set.
    public func evaluate() -> (loss: Double, accuracy: Double) {
        let pixels = network.imageCount
        let chunk = configuration.recipe.batchSize
        var lossSum = 0.0
        var correct = 0
        testImages.withUnsafeBufferPointer { images in
            testLabels.withUnsafeBufferPointer { labels in
                var start = 0
                while start < labels.count {
                    let count = min(chunk, labels.count - start)
                    let r = network.evaluate(
                        images: images.baseAddress! + start * pixels, labels: labels.baseAddress! + start,
                        count: count, logProbs: nil, thetas: nil)
                    lossSum += r.lossSum
                    correct += r.correct
                    start += count
                }
            }
        }
        let n = Double(max(1, testLabels.count))
        return (lossSum / n, Double(correct) / n)
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
