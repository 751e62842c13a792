import STNKernelInterface
import STNModel
import STNPlan
import STNSystem

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Fixed-shape inference for any described model (the presets, or a file's own layer list).
///
/// Loading validates the weights, compiles the model into a `Plan`, repacks the weights
/// into the kernels' layouts and plans one arena (a single mapping) holding them and every
/// intermediate buffer, placed by lifetime so buffers that are never alive together share
/// memory. Running a frame is then one loop over the plan's steps and allocates nothing.
///
/// Thread safety: an `Engine` is not thread-safe. Its arena holds the frame being run, so
/// calls that run frames (`infer`, `inferBatch`) and the `last...` views must not overlap
/// on one engine: use one engine per thread (each owns its arena; nothing is shared between
/// engines), or one `inferBatch` call, which spreads frames over worker plans made at init,
/// one per thread. Creating engines concurrently is safe.
public final class Engine {
    public let architecture: Architecture
    /// The frame's shape: channels x height x width (pixels are fed height x width x channels).
    public let inputShape: TensorShape
    private let plan: Plan
    private let workers: [Plan]
    /// Every class's log-probability of the last frame, one vector per plan (the main plan's first).
    private let answers: UnsafeMutablePointer<Float>
    /// A version-2 model reading [1, C, H, W] with C > 1: (C, H * W), to reorder the
    /// height x width x channels pixels it is fed into its NCHW input.
    private let planarInput: (channels: Int, pixels: Int)?

    /// The most log-probabilities an `InferenceResult` holds (its answer and probability
    /// cover every class; all of a larger model's log-probabilities are in
    /// `lastLogProbabilities`).
    public static let maximumClasses = 64
    /// The most transform parameters an `InferenceResult` holds.
    public static let maximumTheta = 32

    /// - Parameter threads: worker plans for `inferBatch` (default: every core).
    public convenience init(weights: ModelWeights, threads: Int = processorCount()) throws {
        let layout = ParameterLayout(weights.architecture)
        try self.init(weights.architecture, threads: threads) { layout.flatten(weights, into: $0) }
    }

    /// An engine for an open weight file's model, its parameters checked and copied straight
    /// into each plan's arena (no `ModelWeights` in between); errors name the file.
    public convenience init(weightFile contents: WeightFileContents, threads: Int = processorCount()) throws {
        let layout = ParameterLayout(contents.architecture)
        do {
            try self.init(contents.architecture, threads: threads) { try contents.readParameters(layout, into: $0) }
        } catch let error as EngineError {
            throw EngineError("\(contents.file.path): \(error.description)")
        }
    }

    /// `parameters` writes the model's parameters, in `ParameterLayout` order, into the
    /// buffer it is handed (once per plan).
    private init(
        _ architecture: Architecture, threads: Int, parameters: (UnsafeMutablePointer<Float>) throws -> Void
    ) throws {
        self.architecture = architecture
        inputShape = architecture.inputShape
        if let dims = architecture.modelDescription.inputDims, dims.count == 4, dims[0] == 1, dims[1] > 1 {
            planarInput = (dims[1], dims[2] * dims[3])
        } else {
            planarInput = nil
        }
        let parameterCount = ParameterLayout(architecture).total
        func compiled() throws -> Plan {
            let plan: Plan
            do {
                plan = try Plan(architecture, training: false)
            } catch {
                throw EngineError("\(error)")
            }
            try plan.load(parameterCount: parameterCount, parameters)
            return plan
        }
        plan = try compiled()
        if let theta = plan.thetaTensors.first, plan.tensors[theta].layout.shape.count > Engine.maximumTheta {
            throw EngineError("the transform has more than \(Engine.maximumTheta) parameters")
        }
        // One thread runs on `plan` itself: no second arena to plan and fill.
        workers = threads > 1 ? try (0 ..< min(threads, 256)).map { _ in try compiled() } : []
        // Then, for an image answer, the image in NCHW order for `infer(tensor:)`.
        let imageFloats = plan.outputKind == .image ? plan.tensors[plan.outputTensor].layout.shape.count : 0
        let answerFloats = max(architecture.classCount, 1) * (workers.count + 1) + imageFloats
        answers = .allocate(capacity: answerFloats)
        answers.initialize(repeating: 0, count: answerFloats)
    }

    /// Loads and validates an HDF5 weight file (see `WeightFile`).
    public convenience init(weightsAt path: String, threads: Int = processorCount()) throws {
        try self.init(weightFile: WeightFileContents(path: path), threads: threads)
    }

    /// Loads and validates a weight file held in memory (an HDF5 file's bytes, e.g. embedded
    /// in the program or received over a link), with the same checks as a file on disk. The
    /// bytes are read during init only; `name` stands for the path in error messages.
    public convenience init(
        weightFileBytes bytes: UnsafeRawBufferPointer, name: String = "weights", threads: Int = processorCount()
    ) throws {
        try self.init(try WeightFile.read(bytes: bytes, name: name), name: name, threads: threads)
    }

    /// As `init(weightFileBytes:name:threads:)`, from an array of the file's bytes.
    public convenience init(weightFileBytes bytes: [UInt8], name: String = "weights", threads: Int = processorCount())
        throws
    {
        let file = try bytes.withUnsafeBytes { try WeightFile.read(bytes: $0, name: name) }
        try self.init(file, name: name, threads: threads)
    }

    /// An engine for a weight file's model; errors name the file.
    private convenience init(_ file: WeightFile, name: String, threads: Int) throws {
        do {
            try self.init(weights: file.weights, threads: threads)
        } catch let error as EngineError {
            throw EngineError("\(name): \(error.description)")
        }
    }

    /// Bytes in the arena of one engine (packed weights, tensors, saved state, scratch).
    public var arenaBytes: Int { plan.arenaBytes }
    /// Bytes of the arena the tensors take after lifetime sharing.
    public var tensorBytes: Int { plan.tensorBytes }
    /// Values in one frame (channels x height x width).
    public var frameCount: Int { inputShape.count }
    /// The plan's steps, in order (names for per-step timing).
    public var stepNames: [String] { plan.stepNames }

    /// Infers one frame of 8-bit pixels (height x width x channels; 0 ... 255 scaled by 1/255).
    public func infer(pixels: UnsafePointer<UInt8>, into result: inout InferenceResult) {
        run(plan, pixels: pixels, result: &result, times: nil)
    }

    /// Infers one frame of floats (height x width x channels, the model's input scale).
    public func infer(frame: UnsafePointer<Float>, into result: inout InferenceResult) {
        run(plan, frame: frame, result: &result)
    }

    /// Runs one input given in ONNX's row-major order (NCHW; a version-2 model's dims) and
    /// returns the model's whole output in the same order, valid until the next frame. A
    /// version-1 model's frame is reordered into its height x width x channels input.
    public func infer(tensor: UnsafePointer<Float>) -> UnsafeBufferPointer<Float> {
        let input = plan.frame!.value(plan.inputTensor)
        if architecture.isGeneral {
            input.update(from: tensor, count: frameCount)
        } else {
            let (channels, pixels) = (inputShape.channels, inputShape.height * inputShape.width)
            for c in 0 ..< channels {
                for p in 0 ..< pixels { input[p * channels + c] = tensor[c * pixels + p] }
            }
        }
        plan.forward(plan.frame!)
        let shape = plan.tensors[plan.outputTensor].layout.shape
        if plan.outputKind == .image && !architecture.isGeneral {
            // The image answer from height x width x padded channels to NCHW.
            let layout = plan.tensors[plan.outputTensor].layout
            let values = plan.frame!.value(plan.outputTensor)
            let image = answers + max(architecture.classCount, 1) * (workers.count + 1)
            let pixels = shape.height * shape.width
            for c in 0 ..< shape.channels {
                for p in 0 ..< pixels { image[c * pixels + p] = values[p * layout.stride + c] }
            }
            return UnsafeBufferPointer(start: image, count: shape.count)
        }
        return UnsafeBufferPointer(start: plan.frame!.value(plan.outputTensor), count: shape.count)
    }

    /// As `infer(pixels:into:)`, adding each step's nanoseconds to `stepTimes[step]`
    /// (`stepNames.count` entries).
    public func infer(
        pixels: UnsafePointer<UInt8>, into result: inout InferenceResult, stepTimes: UnsafeMutablePointer<UInt64>
    ) {
        run(plan, pixels: pixels, result: &result, times: stepTimes)
    }

    /// Infers `count` frames (one after another, `frameCount` pixels each) into `results`,
    /// split into contiguous parts over up to `threads` workers (at most the number planned).
    public func inferBatch(
        pixels: UnsafePointer<UInt8>, count: Int, results: UnsafeMutablePointer<InferenceResult>, threads: Int
    ) {
        let frame = frameCount
        let parts = max(1, min(threads, max(1, workers.count), count))
        if parts == 1 {
            for i in 0 ..< count { run(plan, pixels: pixels + i * frame, result: &results[i], times: nil) }
            return
        }
        // Each part writes only its own worker's arena and its own slice of `results`.
        let shared = UncheckedSendable((pixels, results))
        concurrentParts(parts) { part in
            let (pixels, results) = shared.value
            let worker = workers[part]
            for i in count * part / parts ..< count * (part + 1) / parts {
                run(worker, pixels: pixels + i * frame, result: &results[i], times: nil)
            }
        }
    }

    /// `inferBatch(pixels:...)` for frames of floats (height x width x channels, the model's
    /// input scale: what 8-bit pixels become after x (1/255)), `frameCount` floats each.
    public func inferBatch(
        frames: UnsafePointer<Float>, count: Int, results: UnsafeMutablePointer<InferenceResult>, threads: Int
    ) {
        let frame = frameCount
        let parts = max(1, min(threads, max(1, workers.count), count))
        if parts == 1 {
            for i in 0 ..< count { run(plan, frame: frames + i * frame, result: &results[i]) }
            return
        }
        // Each part writes only its own worker's arena and its own slice of `results`.
        let shared = UncheckedSendable((frames, results))
        concurrentParts(parts) { part in
            let (frames, results) = shared.value
            let worker = workers[part]
            for i in count * part / parts ..< count * (part + 1) / parts {
                run(worker, frame: frames + i * frame, result: &results[i])
            }
        }
    }

    private func run(_ plan: Plan, frame: UnsafePointer<Float>, result: inout InferenceResult) {
        let input = plan.frame!.value(plan.inputTensor)
        if let (channels, count) = planarInput {
            for p in 0 ..< count {
                for c in 0 ..< channels { input[c * count + p] = frame[p * channels + c] }
            }
        } else {
            input.update(from: frame, count: frameCount)
        }
        finish(plan, &result, times: nil)
    }

    private func run(
        _ plan: Plan, pixels: UnsafePointer<UInt8>, result: inout InferenceResult, times: UnsafeMutablePointer<UInt64>?
    ) {
        let input = plan.frame!.value(plan.inputTensor)
        let scale: Float = 1 / 255
        if let (channels, count) = planarInput {
            for p in 0 ..< count {
                for c in 0 ..< channels { input[c * count + p] = Float(pixels[p * channels + c]) * scale }
            }
        } else {
            for i in 0 ..< frameCount { input[i] = Float(pixels[i]) * scale }
        }
        finish(plan, &result, times: times)
    }

    /// Runs the steps, then reads the answer: log-probabilities whatever the model ends with,
    /// the first transform's parameters, and whether everything was finite.
    private func finish(_ plan: Plan, _ result: inout InferenceResult, times: UnsafeMutablePointer<UInt64>?) {
        let frame = plan.frame!
        plan.forward(frame, times: times)
        if plan.outputKind == .image {
            // An image answer (a rectifier's): no classes; it is read with `lastImage`.
            let layout = plan.tensors[plan.outputTensor].layout
            let values = frame.value(plan.outputTensor)
            result.classCount = 0
            result.digit = 0
            result.probability = 0
            result.isFinite = (0 ..< layout.count).allSatisfy { values[$0].isFinite }
            result.thetaCount = 0
            return
        }
        let classes = architecture.classCount
        let output = frame.value(plan.outputTensor)
        var finite = true
        var best = 0
        let logProbs = answer(of: plan)
        switch plan.outputKind {
        case .logSoftmax: logProbs.update(from: output, count: classes)
        // From the logits rather than log(softmax): exact where probabilities underflow.
        case .softmax: LogSoftmax.forward(frame.value(plan.logitsTensor), count: classes, into: logProbs)
        case .logits, .image: LogSoftmax.forward(output, count: classes, into: logProbs)
        }
        let logits = frame.value(plan.logitsTensor)
        for i in 0 ..< classes {
            if !logits[i].isFinite || logProbs[i].isNaN { finite = false }
            if logProbs[i] > logProbs[best] { best = i }
        }
        withUnsafeMutableBytes(of: &result.logProbs) { storage in
            storage.baseAddress!.assumingMemoryBound(to: Float.self).update(
                from: logProbs, count: min(classes, Engine.maximumClasses))
        }
        result.digit = best
        result.probability = exp(logProbs[best])
        result.classCount = classes
        if let theta = plan.thetaTensors.first {
            let values = frame.value(theta)
            let count = plan.tensors[theta].layout.shape.count
            for i in 0 ..< count {
                result.theta[i] = values[i]
                if !values[i].isFinite { finite = false }
            }
            result.thetaCount = count
        } else {
            result.thetaCount = 0
        }
        result.isFinite = finite
    }

    /// Whether the model answers with an image (a rectifier) rather than class scores.
    public var answersWithImage: Bool { plan.outputKind == .image }
    /// The answer's shape: the classes, or the image's channels x height x width.
    public var answerShape: TensorShape { plan.tensors[plan.outputTensor].layout.shape }

    /// The last frame's image answer (by `infer`), height x width x channels, in the model's
    /// scale (the input's is pixel / 255), into `image` (`answerShape.count` floats).
    public func lastImage(into image: UnsafeMutablePointer<Float>) {
        let layout = plan.tensors[plan.outputTensor].layout
        let values = plan.frame!.value(plan.outputTensor)
        let channels = layout.shape.channels
        for p in 0 ..< layout.shape.height * layout.shape.width {
            for c in 0 ..< channels { image[p * channels + c] = values[p * layout.stride + c] }
        }
    }

    /// Where `plan` leaves every class's log-probability.
    private func answer(of plan: Plan) -> UnsafeMutablePointer<Float> {
        let slot = plan === self.plan ? 0 : 1 + (workers.firstIndex { $0 === plan } ?? 0)
        return answers + slot * max(architecture.classCount, 1)
    }

    /// Every class's log-probability for the last frame run by `infer` (not `inferBatch`):
    /// what `InferenceResult.logProbs` holds, for any number of classes.
    public var lastLogProbabilities: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: answers, count: architecture.classCount)
    }

    deinit { answers.deallocate() }

    /// The last frame's tensor `name` as stored (height x width x padded channels), if the
    /// engine keeps it after a frame: the answer, transform parameters, sampler and resize
    /// outputs.
    public func lastTensor(_ name: String) -> UnsafeBufferPointer<Float>? {
        guard let id = plan.tensor(named: name) else { return nil }
        let storage = plan.tensors[id].storage
        let kept =
            [plan.outputTensor, plan.logitsTensor] + plan.thetaTensors + plan.sampledTensors + plan.resizedTensors
        guard kept.contains(where: { plan.tensors[$0].storage == storage }) else { return nil }
        return UnsafeBufferPointer(start: plan.frame!.value(id), count: plan.tensors[id].layout.count)
    }

    /// The last frame's first transformer output (the rectified image), or empty.
    public var lastSampled: UnsafeBufferPointer<Float> { kept(plan.sampledTensors.first) }
    /// The last frame's first resize output (the localisation net's view), or empty.
    public var lastDownsampled: UnsafeBufferPointer<Float> { kept(plan.resizedTensors.first) }
    /// Shape of the first transformer's output, if any.
    public var sampledShape: TensorShape? { plan.sampledTensors.first.map { plan.tensors[$0].layout.shape } }

    private func kept(_ id: Int?) -> UnsafeBufferPointer<Float> {
        guard let id else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: plan.frame!.value(id), count: plan.tensors[id].layout.count)
    }
}
