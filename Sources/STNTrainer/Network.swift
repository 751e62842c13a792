import Dispatch
import STNData
import STNKernelInterface
import STNModel
import STNPlan
import STNSystem

/// The trainable model: parameters as one flat vector (layer order, PyTorch layouts), the
/// model's plan run forward and backward over a batch spread across threads, and gradients.
///
/// Deterministic: the batch is split into `threads` contiguous parts, each thread
/// accumulates its part in order, and the parts are summed in thread order, so the same
/// inputs and thread count give bit-identical gradients.
public final class Network {
    public let architecture: Architecture
    public let layout: ParameterLayout
    /// Flat parameters; the optimiser updates them in place between steps.
    public var parameters: [Float]
    /// Gradient of the mean loss over the last batch, same layout as `parameters`.
    public private(set) var gradients: [Float]
    public let threads: Int
    public let maxBatch: Int
    /// Dropout layers drop in `forwardBackward` (off: the identity, as at inference; golden
    /// tests compare gradients that way).
    public var dropoutEnabled = true

    let plan: Plan
    /// One frame per thread: its own tensors, gradients and accumulators; or, for a model
    /// with batch norms, one per image of the batch (`batchNormSteps`).
    let frames: [Frame]
    /// The plan's batch norms: training then runs in stages, every image of the batch
    /// through the steps up to a batch norm before its statistics are summed (and the same
    /// backwards), so each image keeps its own frame.
    let batchNormSteps: [Int]
    /// Momentum of the batch norms' running statistics (PyTorch's default).
    public static let batchNormMomentum: Float = 0.1

    /// Fails for a model that cannot be trained (batch norm) with one line naming the layer.
    public init(architecture: Architecture, maxBatch: Int, threads: Int) throws {
        self.architecture = architecture
        // Before any of it is allocated: a model too large for the machine is one line, not an abort.
        try MemoryBudget.check(MemoryBudget.trainingBytes(architecture, threads: threads))
        layout = ParameterLayout(architecture)
        parameters = [Float](repeating: 0, count: layout.total)
        gradients = [Float](repeating: 0, count: layout.total)
        self.threads = max(1, threads)
        self.maxBatch = max(1, maxBatch)
        let plan = try Plan(architecture, training: true)
        self.plan = plan
        batchNormSteps = plan.batchNormSteps
        let frameCount = batchNormSteps.isEmpty ? max(1, threads) : max(self.maxBatch, self.threads)
        frames = (0 ..< frameCount).map { _ in plan.makeTrainingFrame() }
    }

    /// The parameters the optimiser leaves alone: batch norms' running statistics (set from
    /// the batches' statistics) and fixed values (constants, a TPS grid's matrix).
    public var fixedRanges: [Range<Int>] {
        architecture.parameters.compactMap { spec in
            [.runningMean, .runningVariance, .buffer].contains(spec.role) ? layout.range(of: spec.name) : nil
        }
    }

    /// Floats in one image (height x width x channels).
    public var imageCount: Int { architecture.inputShape.count }
    public var classCount: Int { architecture.classCount }
    /// Values of the first transform's parameters (0 without a transformer).
    public var thetaCount: Int { plan.thetaTensors.first.map { plan.tensors[$0].layout.shape.count } ?? 0 }

    public func load(_ weights: ModelWeights) {
        parameters = layout.flatten(weights)
    }

    public func weights() throws -> ModelWeights {
        try layout.weights(from: parameters, architecture: architecture)
    }

    /// Repacks the flat parameters into the kernels' layouts (once per step).
    private func pack() {
        parameters.withUnsafeBufferPointer { plan.load(parameters: $0.baseAddress!) }
    }

    /// Runs `body` on each thread's part of `count` items and sums the (loss, correct) it
    /// returns in thread order, so the totals do not depend on scheduling.
    private func sumOverThreads(_ count: Int, _ body: (Frame, Range<Int>) -> (Double, Int)) -> (
        loss: Double, correct: Int
    ) {
        var losses = [Double](repeating: 0, count: threads)
        var corrects = [Int](repeating: 0, count: threads)
        let parts = min(threads, count)
        losses.withUnsafeMutableBufferPointer { losses in
            corrects.withUnsafeMutableBufferPointer { corrects in
                // Each part writes only its own frame and its own slots of the two arrays.
                concurrentParts(parts) { part in
                    (losses[part], corrects[part]) = body(
                        frames[part], count * part / parts ..< count * (part + 1) / parts)
                }
            }
        }
        return (losses.reduce(0, +), corrects.reduce(0, +))
    }

    /// Writes image `i` into the frame's input and runs the forward pass; returns the logits'
    /// log-probabilities (the model's own log-softmax output, or computed from its logits).
    private func forward(_ frame: Frame, _ image: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        frame.value(plan.inputTensor).update(from: image, count: imageCount)
        plan.forward(frame)
        return logProbabilities(frame)
    }

    /// The log-probabilities of the last forward pass (in the frame's loss buffer when the
    /// model does not end with a log-softmax).
    private func logProbabilities(_ frame: Frame) -> UnsafeMutablePointer<Float> {
        if plan.outputKind == .logSoftmax { return frame.value(plan.outputTensor) }
        let target = plan.gradient(frame, plan.outputTensor)
        LogSoftmax.forward(frame.value(plan.logitsTensor), count: classCount, into: target)
        return target
    }

    /// Forward and backward over `count` images (count * imageCount floats, the model's
    /// input scale). Returns the mean NLL loss and the number of correct predictions; fills
    /// `gradients` (of the label-smoothed loss with `labelSmoothing` > 0; the returned loss
    /// stays the NLL). Dropout draws its masks from `dropoutSeed` and each image's index.
    public func forwardBackward(
        images: UnsafePointer<Float>, labels: UnsafePointer<UInt8>, count: Int, labelSmoothing: Float = 0,
        dropoutSeed: UInt64 = 0
    ) -> (loss: Double, correct: Int) {
        precondition(count > 0 && count <= maxBatch, "batch of \(count) exceeds the planned \(maxBatch)")
        pack()
        if !batchNormSteps.isEmpty {
            return stagedForwardBackward(
                images: images, labels: labels, count: count, labelSmoothing: labelSmoothing, dropoutSeed: dropoutSeed)
        }
        let scale = 1 / Float(count)
        let classes = classCount
        let (lossSum, correct) = sumOverThreads(count) { frame, range in
            plan.zeroAccumulators(frame)
            frame.dropoutActive = dropoutEnabled
            var loss = 0.0
            var correct = 0
            for i in range {
                frame.seedDropout(dropoutSeed &+ UInt64(i))
                let label = Int(labels[i])
                let logProbs = forward(frame, images + i * imageCount)
                if argmax(logProbs, classes) == label { correct += 1 }
                loss -= Double(logProbs[label])
                let dLogits = plan.gradient(frame, plan.logitsTensor)
                dLogits.initialize(repeating: 0, count: plan.tensors[plan.logitsTensor].layout.capacity)
                LogSoftmax.backward(
                    logProbs: logProbs, count: classes, label: label, scale: scale, smoothing: labelSmoothing,
                    dLogits: dLogits)
                plan.backward(frame)
            }
            frame.dropoutActive = false
            return (loss, correct)
        }
        // Sum the threads' accumulators in order and unpack to PyTorch layouts.
        let used = min(threads, count)
        gradients.withUnsafeMutableBufferPointer { g in
            g.initialize(repeating: 0)
            for part in 0 ..< used { plan.addGradients(of: frames[part], into: g.baseAddress!) }
        }
        return (lossSum / Double(count), correct)
    }

    /// `forwardBackward` for a model with batch norms: every image in its own frame, the plan
    /// run in stages that end at each batch norm, whose batch statistics are then summed over
    /// the images in order (forward: x and x^2; backward: dy and dy * xhat), so the result
    /// does not depend on the thread count. The running statistics move by
    /// `batchNormMomentum` towards the batch's, as in PyTorch.
    private func stagedForwardBackward(
        images: UnsafePointer<Float>, labels: UnsafePointer<UInt8>, count: Int, labelSmoothing: Float,
        dropoutSeed: UInt64
    ) -> (loss: Double, correct: Int) {
        let parts = min(threads, count)
        /// Runs `body(frame, image)` for every image, each thread over a contiguous range.
        func eachImage(_ body: (Frame, Int) -> Void) {
            concurrentParts(parts) { part in
                for i in count * part / parts ..< count * (part + 1) / parts { body(frames[i], i) }
            }
        }
        for i in 0 ..< count {
            let frame = frames[i]
            plan.zeroAccumulators(frame)
            frame.dropoutActive = dropoutEnabled
            frame.batchStatistics = true
            frame.seedDropout(dropoutSeed &+ UInt64(i))
            frame.value(plan.inputTensor).update(from: images + i * imageCount, count: imageCount)
        }
        var start = 0
        for step in batchNormSteps {
            eachImage { frame, _ in plan.forward(frame, steps: start ..< step) }
            var sums = [Double](repeating: 0, count: plan.batchSumsCount(step: step))
            sums.withUnsafeMutableBufferPointer { sums in
                for i in 0 ..< count { plan.addBatchStatistics(frames[i], step: step, into: sums.baseAddress!) }
                let running = plan.setBatchStatistics(step: step, sums: sums.baseAddress!, images: count)
                let m = Network.batchNormMomentum
                for c in running.mean.indices {
                    parameters[running.meanOffset + c] =
                        (1 - m) * parameters[running.meanOffset + c] + m * running.mean[c]
                    parameters[running.varianceOffset + c] =
                        (1 - m) * parameters[running.varianceOffset + c] + m * running.variance[c]
                }
            }
            start = step
        }
        let scale = 1 / Float(count)
        let classes = classCount
        var losses = [Double](repeating: 0, count: count)
        var hits = [Bool](repeating: false, count: count)
        losses.withUnsafeMutableBufferPointer { losses in
            hits.withUnsafeMutableBufferPointer { hits in
                // Each image writes only its own frame and its own slots.
                eachImage { frame, i in
                    plan.forward(frame, steps: start ..< plan.stepCount)
                    let label = Int(labels[i])
                    let logProbs = logProbabilities(frame)
                    hits[i] = argmax(logProbs, classes) == label
                    losses[i] = -Double(logProbs[label])
                    let dLogits = plan.gradient(frame, plan.logitsTensor)
                    dLogits.initialize(repeating: 0, count: plan.tensors[plan.logitsTensor].layout.capacity)
                    LogSoftmax.backward(
                        logProbs: logProbs, count: classes, label: label, scale: scale, smoothing: labelSmoothing,
                        dLogits: dLogits)
                }
            }
        }
        var end = plan.stepCount
        for step in batchNormSteps.reversed() {
            eachImage { frame, _ in
                plan.backward(frame, steps: step + 1 ..< end)
                _ = plan.batchNormBackwardSums(frame, step: step)
            }
            var sums = [Double](repeating: 0, count: plan.batchSumsCount(step: step))
            for i in 0 ..< count {
                let frameSums = plan.batchNormBackwardSums(frames[i], step: step, computed: true)
                for j in sums.indices { sums[j] += Double(frameSums[j]) }
            }
            sums.withUnsafeBufferPointer {
                plan.setBatchNormBackwardSums(step: step, sums: $0.baseAddress!, images: count)
            }
            end = step + 1
        }
        eachImage { frame, _ in plan.backward(frame, steps: 0 ..< end) }
        for i in 0 ..< count {
            frames[i].dropoutActive = false
            frames[i].batchStatistics = false
        }
        gradients.withUnsafeMutableBufferPointer { g in
            g.initialize(repeating: 0)
            for i in 0 ..< count { plan.addGradients(of: frames[i], into: g.baseAddress!) }
        }
        return (losses.reduce(0, +) / Double(count), hits.filter { $0 }.count)
    }

    /// Forward only (dropout off). Returns the summed NLL (if labels are given) and the
    /// number correct; optionally writes count * classCount log-probabilities and
    /// count * thetaCount transform parameters.
    public func evaluate(
        images: UnsafePointer<Float>, labels: UnsafePointer<UInt8>?, count: Int,
        logProbs: UnsafeMutablePointer<Float>?, thetas: UnsafeMutablePointer<Float>?
    ) -> (lossSum: Double, correct: Int) {
        guard count > 0 else { return (0, 0) }
        pack()
        let classes = classCount
        let thetaCount = self.thetaCount
        let totals = sumOverThreads(count) { frame, range in
            var loss = 0.0
            var correct = 0
            for i in range {
                let answer = forward(frame, images + i * imageCount)
                if let labels {
                    let label = Int(labels[i])
                    if argmax(answer, classes) == label { correct += 1 }
                    loss -= Double(answer[label])
                }
                logProbs?.advanced(by: i * classes).update(from: answer, count: classes)
                if let thetas, let theta = plan.thetaTensors.first {
                    thetas.advanced(by: i * thetaCount).update(from: frame.value(theta), count: thetaCount)
                }
            }
            return (loss, correct)
        }
        return (totals.loss, totals.correct)
    }

    /// Every stored tensor for one image (dropout off), in PyTorch layout (C, H, W; vectors
    /// as they are), keyed by tensor name. A max pool fused with its ReLU has no entry; the
    /// affine grid is given as (H, W, 2) like `F.affine_grid`'s.
    public func activations(image: UnsafePointer<Float>) -> [String: [Float]] {
        pack()
        let frame = frames[0]
        _ = forward(frame, image)
        var out: [String: [Float]] = [:]
        for (id, tensor) in plan.tensors.enumerated() where plan.tensors[tensor.storage].materialised {
            let buffer = frame.value(id)
            let layout = tensor.layout
            var values = [Float](repeating: 0, count: layout.shape.count)
            if layout.stride == 2 && layout.shape.channels == 2 && !layout.shape.isVector {
                // A sampling grid: stored (H, W, 2) as PyTorch stores it.
                for i in 0 ..< values.count { values[i] = buffer[i] }
            } else {
                for (i, torch) in layout.torchIndex().enumerated() {
                    if let torch { values[torch] = buffer[i] }
                }
            }
            out[tensor.name] = values
        }
        return out
    }

    /// Gradient of the last `forwardBackward`'s final image's loss with respect to every
    /// tensor that needs one (for golden tests: run it on one image), in PyTorch layout.
    public func activationGradients() -> [String: [Float]] {
        let frame = frames[0]
        var out: [String: [Float]] = [:]
        for (id, tensor) in plan.tensors.enumerated() where tensor.requiresGradient {
            let buffer = plan.gradient(frame, id)
            var values = [Float](repeating: 0, count: tensor.layout.shape.count)
            for (i, torch) in tensor.layout.torchIndex().enumerated() {
                if let torch { values[torch] = buffer[i] }
            }
            out[tensor.name] = values
        }
        return out
    }
}

@inline(__always)
private func argmax(_ values: UnsafePointer<Float>, _ count: Int) -> Int {
    var best = 0
    for i in 1 ..< count where values[i] > values[best] { best = i }
    return best
}

/// Training throughput of the forward and backward pass alone (no data pipeline, no
/// optimiser): images per second over `iterations` batches after one warm-up batch.
public func benchmarkTraining(architecture: Architecture, batch: Int, threads: Int, iterations: Int) throws -> Double {
    let network = try Network(architecture: architecture, maxBatch: batch, threads: threads)
    network.load(Initializer.pytorchDefault(architecture, seed: 1))
    var random = PRNG(seed: 7)
    let images = (0 ..< batch * network.imageCount).map { _ in random.nextUnitFloat() }
    let labels = (0 ..< batch).map { UInt8($0 % network.classCount) }
    _ = network.forwardBackward(images: images, labels: labels, count: batch)
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0 ..< max(1, iterations) { _ = network.forwardBackward(images: images, labels: labels, count: batch) }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return Double(batch * max(1, iterations)) / seconds
}
