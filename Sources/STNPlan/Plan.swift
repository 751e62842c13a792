import STNKernelInterface
import STNKernelSelection
import STNModel

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// A model compiled once into steps (operation, shapes, kernel) over tensors reached by id,
/// each id resolved from the tensor's name. The steps call the kernels of one ISA, through
/// the table (`KernelTable`) the plan binds when it is built. The engine runs `forward` in one frame planned
/// into one arena by buffer lifetime; the trainer runs `forward` and then `backward`, the
/// same steps in reverse, in one frame per thread.
public final class Plan {
    public let architecture: Architecture
    public let training: Bool
    /// The instruction set whose kernels the steps run.
    public let isa: ISA
    public let tensors: [PlannedTensor]
    let steps: [Step]
    public let parameterLayout: ParameterLayout

    /// The frame's input, the model's answer, and the vector the loss and the answer's
    /// log-probabilities come from (the input of a final softmax or log-softmax, else the answer).
    public let inputTensor = 0
    public let outputTensor: Int
    public let logitsTensor: Int
    /// How the answer relates to the logits.
    public let outputKind: OutputKind
    /// Every transform's parameters (the inputs of grid generators), and every sampler's and
    /// resize's output, kept readable after a frame.
    public let thetaTensors: [Int]
    public let sampledTensors: [Int]
    public let resizedTensors: [Int]

    /// Bytes of the inference arena (weights, tensors, saved state, scratch); 0 when training.
    public private(set) var arenaBytes = 0
    /// Bytes the tensors alone take in the arena (after lifetime sharing).
    public private(set) var tensorBytes = 0
    /// The inference frame (nil when training: make one per thread with `makeTrainingFrame`).
    public private(set) var frame: Frame?

    /// The transform of each entry of `thetaTensors`.
    public var transforms: [TransformKind] { architecture.transforms }

    private var arena: ArenaMemory?
    /// The arena after the packed weights (tensors, saved state, scratch, and the rest of its
    /// last huge page): free until the first frame, so parameters pass through it on their
    /// way to being packed.
    private var loadRegion: (base: UnsafeMutablePointer<Float>, count: Int)?
    private var weightBuffer: RawBuffer?
    private var tables: [RawBuffer] = []

    public enum OutputKind: Sendable {
        case logSoftmax, softmax, logits
        /// The answer is a map (a rectifier's image), not class scores.
        case image
    }

    /// Every step's name (its layer; fused steps join two), in order: per-step timing reports them.
    public var stepNames: [String] { steps.map(\.name) }
    public var stepCount: Int { steps.count }
    /// How many tensors each step reads.
    public var stepInputCounts: [Int] { steps.map(\.inputs.count) }

    public func tensor(named name: String) -> Int? { tensors.firstIndex { $0.name == name } }

    /// Compiles `architecture` for `isa`'s kernels (by default the selected ISA: STN_ISA, else
    /// the best this processor runs). Training plans keep what the backward pass needs and
    /// refuse what cannot be trained (batch norm).
    public init(_ architecture: Architecture, training: Bool, isa: ISA = .active) throws {
        self.architecture = architecture
        self.training = training
        self.isa = isa
        let kernels = KernelTable(isa)
        let layout = ParameterLayout(architecture)
        parameterLayout = layout
        var tensors: [PlannedTensor] = []
        var ids: [String: Int] = [:]
        func add(_ name: String, _ layout: TensorLayout, storage: Int? = nil) -> Int {
            let id = tensors.count
            tensors.append(PlannedTensor(name: name, layout: layout, storage: storage ?? id))
            ids[name] = id
            return id
        }
        let input = architecture.inputShape
        _ = add(architecture.modelDescription.inputName, TensorLayout(shape: input, stride: input.channels))

        // Which layers read each tensor (to fuse a max pool into the ReLU that alone reads it).
        var readers: [String: [Int]] = [:]
        for (i, spec) in architecture.layers.enumerated() {
            for name in spec.layer.inputs { readers[name, default: []].append(i) }
        }
        var steps: [Step] = []
        var convolutionSteps: [String: ConvolutionStep] = [:]
        var fusedReLUs = Set<Int>()
        for (layerIndex, spec) in architecture.layers.enumerated() {
            if fusedReLUs.contains(layerIndex) { continue }
            let name = spec.name
            func fail(_ message: String) -> DescriptionError { DescriptionError(layer: name, message) }
            let inputIDs = spec.layer.inputs.map { ids[$0]! }
            let from = inputIDs.first.map { tensors[$0].layout } ?? TensorLayout(shape: .vector(1), stride: 1)
            let out = spec.outputShape
            func offset(_ suffix: String) -> Int? { layout.range(of: spec.layer.prefix + "." + suffix)?.lowerBound }
            func map() throws {
                guard from.flattenedFrom == nil, !from.shape.isVector || from.shape == spec.inputShapes[0] else {
                    throw fail("reads the flattened tensor '\(spec.layer.inputs[0])' as an image")
                }
            }
            /// The input with its channels padded to 8s (a map read straight from the frame has
            /// C lanes a pixel): a conversion step the plan inserts for kernels that work in
            /// whole vectors of channels.
            func paddedInput() -> (id: Int, layout: TensorLayout) {
                guard from.stride % 8 != 0, from.flattenedFrom == nil, !from.shape.isVector else {
                    return (inputIDs[0], from)
                }
                let layout = TensorLayout(shape: from.shape, stride: roundUp8(from.shape.channels))
                let id = add(name + ".padded", layout)
                steps.append(
                    PadChannelsStep(
                        name: name + ".padded", input: inputIDs[0], output: id,
                        pixels: from.shape.height * from.shape.width, from: from.stride, to: layout.stride))
                return (id, layout)
            }
            switch spec.operation {
            case .conv(let outC, let kernel, let stride, let padding, _):
                try map()
                let shape = Conv2DShape(
                    inH: from.shape.height + 2 * padding.height, inW: from.shape.width + 2 * padding.width,
                    inC: from.stride, outC: outC, kernelH: kernel.height, kernelW: kernel.width,
                    strideH: stride.height, strideW: stride.width)
                let id = add(name, TensorLayout(shape: out, stride: roundUp8(outC)))
                let step = ConvolutionStep(
                    name: name, input: inputIDs[0], output: id, shape: shape, inputHeight: from.shape.height,
                    inputWidth: from.shape.width, padH: padding.height, padW: padding.width,
                    realInC: from.shape.channels, weightOffset: offset("weight")!, biasOffset: offset("bias"),
                    batchNorm: nil, kernels: kernels)
                convolutionSteps[name] = step
                steps.append(step)
            case .groupedConv(let outC, let kernel, let stride, let padding, let dilation, let groups, _):
                try map()
                guard groups == from.shape.channels, outC == groups else {
                    throw fail(
                        "grouped convolution runs depthwise only (groups = input channels = output channels); "
                            + "this one has groups \(groups) for \(from.shape.channels) to \(outC) channels")
                }
                let (source, from) = paddedInput()
                let shape = DepthwiseConv2DShape(
                    inH: from.shape.height, inW: from.shape.width, channels: from.stride, kernelH: kernel.height,
                    kernelW: kernel.width, strideH: stride.height, strideW: stride.width, padTop: padding.height,
                    padLeft: padding.width, padBottom: padding.height, padRight: padding.width,
                    dilationH: dilation.height, dilationW: dilation.width)
                let id = add(name, TensorLayout(shape: out, stride: from.stride))
                steps.append(
                    DepthwiseConvolutionStep(
                        name: name, input: source, output: id, shape: shape, realChannels: outC,
                        weightOffset: offset("weight")!, biasOffset: offset("bias"), kernels: kernels))
            case .batchNorm(let epsilon):
                let statistics = (
                    offset("weight")!, offset("bias")!, offset("running_mean")!, offset("running_var")!
                )
                if !training, let conv = convolutionSteps[spec.layer.inputs[0]], conv.batchNorm == nil,
                    readers[spec.layer.inputs[0]]?.count == 1
                {
                    // Folded into the convolution's weights and bias when they are loaded.
                    conv.batchNorm = (statistics.0, statistics.1, statistics.2, statistics.3, epsilon)
                    _ = add(name, from, storage: tensors[inputIDs[0]].storage)
                } else {
                    guard from.flattenedFrom == nil else {
                        throw fail("batch norm of the flattened tensor '\(spec.layer.inputs[0])'")
                    }
                    let id = add(name, from)
                    steps.append(
                        BatchNormStep(
                            name: name, input: inputIDs[0], output: id, layout: from,
                            offsets: (statistics.0, statistics.1, statistics.2, statistics.3), epsilon: epsilon,
                            training: training, kernels: kernels))
                }
            case .maxPool(let pooling) where !pooling.isPlain:
                try map()
                let id = add(name, TensorLayout(shape: out, stride: from.stride))
                steps.append(
                    MaxPoolStep(
                        name: name, input: inputIDs[0], output: id, shape: poolShape(from, pooling, output: out),
                        kernels: kernels))
            case .averagePool(let pooling) where !pooling.isPlain:
                try map()
                let id = add(name, TensorLayout(shape: out, stride: from.stride))
                steps.append(
                    AveragePoolStep(
                        name: name, input: inputIDs[0], output: id, shape: poolShape(from, pooling, output: out),
                        kernels: kernels))
            case .globalAveragePool, .globalMaxPool:
                try map()
                var maximum = false
                if case .globalMaxPool = spec.operation { maximum = true }
                let (source, from) = paddedInput()
                let id = add(name, TensorLayout(shape: out, stride: from.stride))
                steps.append(
                    GlobalPoolStep(
                        name: name, input: source, output: id,
                        shape: GlobalPoolShape(pixels: from.shape.height * from.shape.width, channels: from.stride),
                        maximum: maximum, kernels: kernels))
            case .activation(let activation):
                let id = add(name, from)
                steps.append(
                    ActivationStep(
                        name: name, input: inputIDs[0], output: id, activation: activation, layout: from,
                        kernels: kernels))
            case .prelu(let perChannel):
                guard !perChannel || from.flattenedFrom == nil else {
                    throw fail("per-channel PReLU of the flattened tensor '\(spec.layer.inputs[0])'")
                }
                let (source, from) = paddedInput()
                let id = add(name, from)
                steps.append(
                    PReLUStep(
                        name: name, input: source, output: id, layout: from, perChannel: perChannel,
                        weightOffset: offset("weight")!, kernels: kernels))
            case .constant(let count):
                let id = add(name, TensorLayout(shape: out, stride: roundUp8(count)))
                steps.append(ConstantVectorStep(name: name, output: id, count: count, valueOffset: offset("value")!))
            case .select(let sources):
                // Each input's element (PyTorch's flat order) at its buffer offset.
                let offsets = inputIDs.map { input -> [Int] in
                    let index = tensors[input].layout.torchIndex()
                    var inverse = [Int](repeating: 0, count: tensors[input].layout.shape.count)
                    for (at, torch) in index.enumerated() { if let torch { inverse[torch] = at } }
                    return inverse
                }
                let id = add(name, TensorLayout(shape: out, stride: roundUp8(out.channels)))
                steps.append(
                    SelectStep(
                        name: name, inputs: inputIDs, output: id,
                        sources: sources.map { ($0.input, offsets[$0.input][$0.element]) },
                        capacities: inputIDs.map { tensors[$0].layout.capacity }))
            case .selectChannels(let sources):
                for (slot, input) in inputIDs.enumerated() where tensors[input].layout.flattenedFrom != nil {
                    throw fail("reads the flattened tensor '\(spec.layer.inputs[slot])' as an image")
                }
                // Unpadded, as a frame's input: a convolution or sampler reads any stride.
                let id = add(name, TensorLayout(shape: out, stride: out.channels))
                steps.append(
                    SelectStep(
                        name: name, inputs: inputIDs, output: id, channels: sources.map { ($0.input, $0.element) },
                        pixels: out.height * out.width, inputStrides: inputIDs.map { tensors[$0].layout.stride },
                        outputStride: out.channels, capacities: inputIDs.map { tensors[$0].layout.capacity }))
            case .mulAdd, .cosine, .sine:
                guard from.flattenedFrom == nil else {
                    throw fail("\(spec.operation.keyword) of the flattened tensor '\(spec.layer.inputs[0])'")
                }
                let id = add(name, from)
                if case .mulAdd = spec.operation {
                    steps.append(
                        MulAddStep(
                            name: name, input: inputIDs[0], output: id, count: out.channels,
                            scaleOffset: offset("scale")!, shiftOffset: offset("shift")!))
                } else {
                    var sine = false
                    if case .sine = spec.operation { sine = true }
                    steps.append(
                        TrigonometricStep(name: name, input: inputIDs[0], output: id, count: out.channels, sine: sine))
                }
            case .gridView:
                guard from.flattenedFrom == nil else {
                    throw fail("a grid of the flattened tensor '\(spec.layer.inputs[0])'")
                }
                // The vector's values are the grid's (H, W, 2) floats: the same buffer.
                _ = add(name, TensorLayout(shape: out, stride: 2), storage: tensors[inputIDs[0]].storage)
            case .matrixProduct(let rows, let inner):
                guard from.flattenedFrom == nil else {
                    throw fail("matmul of the flattened tensor '\(spec.layer.inputs[0])'")
                }
                let id = add(name, TensorLayout(shape: out, stride: roundUp8(out.channels)))
                steps.append(
                    MatrixProductStep(
                        name: name, input: inputIDs[0], output: id, rows: rows, inner: inner,
                        columns: from.shape.channels / inner, matrixOffset: offset("matrix")!))
            case .add:
                let other = tensors[inputIDs[1]].layout
                guard other == from else {
                    throw fail(
                        "adds '\(spec.layer.inputs[0])' and '\(spec.layer.inputs[1])', which are stored differently "
                            + "(a flattened vector and a map, or channels padded differently)")
                }
                let id = add(name, from)
                steps.append(AddStep(name: name, inputs: inputIDs, output: id, count: from.count, kernels: kernels))
            case .maxPool(let pooling):
                let (kernel, stride) = (pooling.kernel, pooling.stride)
                try map()
                let fusable =
                    kernel == Size2(square: 2) && stride == Size2(square: 2) && from.stride % 8 == 0
                    && readers[name]?.count == 1
                if fusable, let next = readers[name]?.first, case .relu = architecture.layers[next].operation {
                    // The pool's output is read only by this ReLU: one pass writes the ReLU's.
                    var pooled = tensors[add(name, TensorLayout(shape: out, stride: from.stride))]
                    pooled.materialised = false
                    tensors[tensors.count - 1] = pooled
                    let relu = architecture.layers[next]
                    let id = add(relu.name, TensorLayout(shape: out, stride: from.stride))
                    steps.append(
                        MaxPoolReLUStep(
                            name: name + "+" + relu.name, input: inputIDs[0], output: id,
                            shape: PoolReLUShape(inH: from.shape.height, inW: from.shape.width, channels: from.stride),
                            kernels: kernels))
                    fusedReLUs.insert(next)
                } else {
                    let id = add(name, TensorLayout(shape: out, stride: from.stride))
                    steps.append(
                        MaxPoolStep(
                            name: name, input: inputIDs[0], output: id,
                            shape: poolShape(from, kernel: kernel, stride: stride), kernels: kernels))
                }
            case .averagePool(let pooling):
                let (kernel, stride) = (pooling.kernel, pooling.stride)
                try map()
                let id = add(name, TensorLayout(shape: out, stride: from.stride))
                steps.append(
                    AveragePoolStep(
                        name: name, input: inputIDs[0], output: id,
                        shape: poolShape(from, kernel: kernel, stride: stride), kernels: kernels))
            case .relu:
                // At inference a ReLU read only by a 2 x 2, stride-2 max pool (conv, ReLU, pool, as
                // exported models order them) runs with the pool as one pass: max and ReLU
                // commute, so it is the pool-then-ReLU kernel; the ReLU's output is never stored.
                if !training, readers[name]?.count == 1, let next = readers[name]?.first, from.stride % 8 == 0,
                    from.flattenedFrom == nil, !from.shape.isVector,
                    case .maxPool(let pooling) = architecture.layers[next].operation, pooling.isPlain,
                    pooling.kernel == Size2(square: 2), pooling.stride == Size2(square: 2)
                {
                    let pool = architecture.layers[next]
                    var activated = tensors[add(name, from)]
                    activated.materialised = false
                    tensors[tensors.count - 1] = activated
                    let id = add(pool.name, TensorLayout(shape: pool.outputShape, stride: from.stride))
                    steps.append(
                        MaxPoolReLUStep(
                            name: name + "+" + pool.name, input: inputIDs[0], output: id,
                            shape: PoolReLUShape(inH: from.shape.height, inW: from.shape.width, channels: from.stride),
                            kernels: kernels))
                    fusedReLUs.insert(next)
                    break
                }
                let id = add(name, from)
                steps.append(ReLUStep(name: name, input: inputIDs[0], output: id, count: from.count))
            case .flatten:
                let source =
                    from.flattenedFrom
                    ?? TensorLayout.FlattenSource(
                        height: from.shape.height, width: from.shape.width, channels: from.shape.channels,
                        stride: from.stride)
                let flat =
                    from.shape.isVector && from.flattenedFrom == nil
                    ? TensorLayout(shape: out, stride: from.stride)
                    : TensorLayout(shape: out, stride: out.channels, flattenedFrom: source)
                _ = add(name, flat, storage: tensors[inputIDs[0]].storage)
            case .linear(let outFeatures, _):
                let shape = LinearShape(inputs: from.count, outputs: outFeatures)
                let id = add(name, TensorLayout(shape: out, stride: roundUp8(outFeatures)))
                steps.append(
                    LinearStep(
                        name: name, input: inputIDs[0], output: id, shape: shape, realInputs: from.shape.count,
                        inputIndex: from.torchIndex(), weightOffset: offset("weight")!, biasOffset: offset("bias"),
                        kernels: kernels))
            case .dropout(let p), .dropout2d(let p):
                if training {
                    var perChannel = false
                    if case .dropout2d = spec.operation { perChannel = true }
                    let id = add(name, from)
                    steps.append(
                        DropoutStep(
                            name: name, input: inputIDs[0], output: id, probability: p, perChannel: perChannel,
                            layout: from))
                } else {
                    _ = add(name, from, storage: tensors[inputIDs[0]].storage)
                }
            case .resize(_, let scale, let alignCorners):
                try map()
                let to = TensorLayout(shape: out, stride: from.stride)
                let id = add(name, to)
                steps.append(
                    ResizeStep(
                        name: name, input: inputIDs[0], output: id, from: from, to: to, scale: scale,
                        alignCorners: alignCorners, kernels: kernels))
            case .transformGrid(let kind, let size, let alignCorners):
                let id = add(name, TensorLayout(shape: out, stride: 2))
                let generator = TransformGrid(
                    kind: kind.kernelKind, height: size.height, width: size.width, alignCorners: alignCorners)
                steps.append(
                    TransformGridStep(
                        name: name, input: inputIDs[0], output: id, generator: generator, thetaCapacity: from.capacity,
                        kernels: kernels))
            case .gridSample(let mode, let padding, let alignCorners):
                try map()
                let grid = tensors[inputIDs[1]].layout
                guard grid.stride == 2, grid.flattenedFrom == nil else {
                    throw fail("grid_sample's grid must come from affine_grid")
                }
                let id = add(name, TensorLayout(shape: out, stride: from.stride))
                steps.append(
                    GridSampleStep(
                        name: name, image: inputIDs[0], grid: inputIDs[1], output: id, imageLayout: from,
                        points: out.height * out.width,
                        options: SamplerOptions(
                            nearest: mode == .nearest, border: padding == .border, alignCorners: alignCorners),
                        kernels: kernels))
            case .softmax, .logSoftmax:
                var logarithm = false
                if case .logSoftmax = spec.operation { logarithm = true }
                let id = add(name, from.flattenedFrom == nil ? from : TensorLayout(shape: out, stride: from.count))
                steps.append(
                    SoftmaxStep(
                        name: name, input: inputIDs[0], output: id, features: out.channels,
                        stride: tensors[id].layout.stride, logarithm: logarithm))
            case .tensor(let operation):
                guard !training else {
                    throw fail("version-2 tensor operations run at inference only: this model cannot be trained")
                }
                let layout = TensorLayout(shape: out, stride: out.count)
                if case .reshape = operation {
                    _ = add(name, layout, storage: tensors[inputIDs[0]].storage)
                } else {
                    let id = add(name, layout)
                    steps.append(
                        TensorSteps.make(
                            operation, spec: spec, inputs: inputIDs, output: id, valueOffset: offset("value")))
                }
            case .normalize(let mean, let std):
                try map()
                let id = add(name, from)
                steps.append(
                    NormalizeStep(name: name, input: inputIDs[0], output: id, mean: mean, std: std, layout: from))
            }
        }
        for (i, step) in steps.enumerated() { step.index = i }

        // Gradients: a tensor needs one when a trainable step lies upstream.
        for step in steps {
            let upstream = step.isTrainable || step.inputs.contains { tensors[tensors[$0].storage].requiresGradient }
            if upstream {
                tensors[step.output].requiresGradient = true
                tensors[tensors[step.output].storage].requiresGradient = true
            }
        }
        for (id, tensor) in tensors.enumerated() where tensor.storage != id {
            tensors[id].requiresGradient = tensors[tensor.storage].requiresGradient
        }
        // The last step (in backward order, the first) to write a shared input's gradient
        // overwrites it; the others add theirs in.
        var written = Set<Int>()
        for step in steps.reversed() {
            for (slot, input) in step.inputs.enumerated() {
                let storage = tensors[input].storage
                step.inputNeedsGradient[slot] = tensors[storage].requiresGradient
                guard step.inputNeedsGradient[slot] else { continue }
                step.accumulatesGradient[slot] = !written.insert(storage).inserted
            }
        }

        let output = ids[architecture.modelDescription.outputName]!
        outputTensor = output
        let last = architecture.layers.last!
        /// A version-2 (log-)softmax over the last axis of a [1, ..., classes] answer.
        var classSoftmax: Bool?
        if case .tensor(.softmax(let axis, let logarithm)) = last.operation, axis == last.outputDims.count - 1,
            last.outputDims.dropLast().allSatisfy({ $0 == 1 }), steps.last?.output == output
        {
            classSoftmax = logarithm
        }
        switch last.operation {
        case .logSoftmax:
            outputKind = .logSoftmax
            logitsTensor = steps.last!.inputs[0]
        case .softmax:
            outputKind = .softmax
            logitsTensor = steps.last!.inputs[0]
        case .tensor where classSoftmax != nil:
            outputKind = classSoftmax! ? .logSoftmax : .softmax
            logitsTensor = steps.last!.inputs[0]
        default:
            outputKind = tensors[output].layout.shape.isVector ? .logits : .image
            logitsTensor = output
        }
        guard outputKind != .image || !training else {
            throw DescriptionError(
                layer: architecture.modelDescription.outputName,
                "the model's answer is a \(tensors[output].layout.shape) image; training needs a vector of class scores"
            )
        }
        thetaTensors = steps.compactMap { $0 is TransformGridStep ? $0.inputs[0] : nil }
        sampledTensors = steps.compactMap { $0 is GridSampleStep ? $0.output : nil }
        resizedTensors = steps.compactMap { $0 is ResizeStep ? $0.output : nil }
        self.tensors = tensors
        self.steps = steps
        if training {
            let weights = RawBuffer(bytes: steps.reduce(0) { $0 + $1.weightFloats(training: true) } * 4)
            var cursor = weights.floats()
            for step in steps {
                step.bind(weights: cursor, training: true)
                cursor += step.weightFloats(training: true)
            }
            weightBuffer = weights
        } else {
            try planArena()
        }
    }

    // MARK: Memory

    /// Plans the inference arena: packed weights, then every stored tensor at an offset
    /// chosen by its lifetime (first written to last read), then each step's saved state and
    /// the shared scratch. One mapping; nothing is allocated per frame.
    private func planArena() throws {
        var planner = ArenaPlanner()
        var first = [Int: Int]()
        var last = [Int: Int]()
        first[inputTensor] = -1
        for (i, step) in steps.enumerated() {
            if first[step.output] == nil { first[step.output] = i }
            for input in step.inputs { last[tensors[input].storage] = i }
        }
        let kept = [outputTensor, logitsTensor] + thetaTensors + sampledTensors + resizedTensors
        for id in kept { last[tensors[id].storage] = steps.count }
        var requestOf: [Int: Int] = [:]
        for (id, tensor) in tensors.enumerated() where tensor.storage == id && tensor.materialised {
            let start = first[id] ?? -1
            requestOf[id] = planner.request(
                count: tensor.layout.capacity, first: start, last: max(last[id] ?? start, start))
        }
        let (offsets, tensorFloats) = planner.plan()
        let weightFloats = steps.reduce(0) { $0 + roundUp16($1.weightFloats(training: false)) }
        let savedFloats = steps.reduce(0) { $0 + roundUp16($1.savedFloats(training: false)) }
        let savedIntegers = steps.reduce(0) { $0 + roundUp16($1.savedIntegers(training: false)) }
        let scratchFloats = roundUp16(steps.map { $0.scratchFloats(training: false) }.max() ?? 0)
        let total = weightFloats + tensorFloats + savedFloats + savedIntegers + scratchFloats
        guard total <= Architecture.maximumTotalElements else {
            throw DescriptionError(line: nil, "the model needs an arena of \(total * 4) bytes, more than allowed")
        }
        arenaBytes = total * 4
        tensorBytes = tensorFloats * 4
        try MemoryBudget.check(arenaBytes)
        guard let memory = ArenaMemory(bytes: arenaBytes) else {
            throw DescriptionError(line: nil, "cannot map the engine's \(arenaBytes)-byte arena")
        }
        arena = memory
        let base = memory.base.bindMemory(to: Float.self, capacity: total)
        var cursor = base
        for step in steps {
            step.bind(weights: cursor, training: false)
            cursor += roundUp16(step.weightFloats(training: false))
        }
        let tensorBase = cursor
        loadRegion = (tensorBase, memory.capacity / 4 - weightFloats)
        let values = Table<UnsafeMutablePointer<Float>>(tensors.count, base)
        for (id, tensor) in tensors.enumerated() {
            if let request = requestOf[tensor.storage] { values.pointer[id] = tensorBase + offsets[request] }
        }
        cursor += tensorFloats
        let saved = Table<UnsafeMutablePointer<Float>>(steps.count, base)
        for (i, step) in steps.enumerated() {
            saved.pointer[i] = cursor
            cursor += roundUp16(step.savedFloats(training: false))
        }
        let integers = Table<UnsafeMutablePointer<Int32>>(
            steps.count, UnsafeMutableRawPointer(cursor).assumingMemoryBound(to: Int32.self))
        cursor += savedIntegers
        let scratch = cursor
        let none = Table<UnsafeMutablePointer<Float>>(steps.count, scratch)
        tables = [values.buffer, saved.buffer, integers.buffer, none.buffer]
        frame = Frame(
            values: values.pointer, gradients: values.pointer, accumulators: none.pointer, savedFloats: saved.pointer,
            savedIntegers: integers.pointer, scratch: scratch, gradientScratch: (scratch, scratch), owned: [],
            training: false)
    }

    /// A frame for one training thread: its own tensors, gradients, accumulators and saved
    /// state (the packed weights are the plan's, shared read-only).
    public func makeTrainingFrame() -> Frame {
        precondition(training, "training frames come from a training plan")
        var offsets = [Int](repeating: 0, count: tensors.count)
        var floats = 0
        for (id, tensor) in tensors.enumerated() where tensor.storage == id {
            offsets[id] = floats
            floats += tensor.layout.capacity
        }
        let maximumCapacity = tensors.map(\.layout.capacity).max() ?? 16
        let values = RawBuffer(bytes: floats * 4)
        let gradients = RawBuffer(bytes: floats * 4)
        let valueTable = Table<UnsafeMutablePointer<Float>>(tensors.count, values.floats())
        let gradientTable = Table<UnsafeMutablePointer<Float>>(tensors.count, gradients.floats())
        for (id, tensor) in tensors.enumerated() {
            valueTable.pointer[id] = values.floats(at: offsets[tensor.storage])
            gradientTable.pointer[id] = gradients.floats(at: offsets[tensor.storage])
        }
        func perStep(_ size: (Step) -> Int) -> (RawBuffer, Table<UnsafeMutablePointer<Float>>) {
            let buffer = RawBuffer(bytes: steps.reduce(0) { $0 + roundUp16(size($1)) } * 4)
            let table = Table<UnsafeMutablePointer<Float>>(steps.count, buffer.floats())
            var cursor = 0
            for (i, step) in steps.enumerated() {
                table.pointer[i] = buffer.floats(at: cursor)
                cursor += roundUp16(size(step))
            }
            return (buffer, table)
        }
        let (accumulatorBuffer, accumulators) = perStep(\.gradientFloats)
        let (savedBuffer, saved) = perStep { $0.savedFloats(training: true) }
        let integerBuffer = RawBuffer(bytes: steps.reduce(0) { $0 + roundUp16($1.savedIntegers(training: true)) } * 4)
        let integers = Table<UnsafeMutablePointer<Int32>>(
            steps.count, integerBuffer.pointer.assumingMemoryBound(to: Int32.self))
        var cursor = 0
        for (i, step) in steps.enumerated() {
            integers.pointer[i] = (integerBuffer.pointer + cursor * 4).assumingMemoryBound(to: Int32.self)
            cursor += roundUp16(step.savedIntegers(training: true))
        }
        let scratchFloats = roundUp16(steps.map { $0.scratchFloats(training: true) }.max() ?? 0)
        let scratch = RawBuffer(bytes: (scratchFloats + 2 * maximumCapacity) * 4)
        return Frame(
            values: valueTable.pointer, gradients: gradientTable.pointer, accumulators: accumulators.pointer,
            savedFloats: saved.pointer, savedIntegers: integers.pointer, scratch: scratch.floats(),
            gradientScratch: (scratch.floats(at: scratchFloats), scratch.floats(at: scratchFloats + maximumCapacity)),
            owned: [
                values, gradients, accumulatorBuffer, savedBuffer, integerBuffer, scratch, valueTable.buffer,
                gradientTable.buffer, accumulators.buffer, saved.buffer, integers.buffer,
            ], training: true)
    }

    // MARK: Running

    /// Repacks every step's weights from the flat parameter vector (PyTorch layouts).
    public func load(parameters: UnsafePointer<Float>) {
        for step in steps { step.load(parameters) }
    }

    /// Loads `count` parameters that `write` puts, in `ParameterLayout` order, into the buffer
    /// it is handed. An inference plan lends the arena's tensor region when it holds them: its
    /// pages are mapped already, so loading allocates nothing and takes no page faults (a
    /// fresh 442 KB vector cost a one-image process about 0.25 ms). The region is zeroed
    /// again afterwards, as the arena was mapped.
    public func load(parameterCount count: Int, _ write: (UnsafeMutablePointer<Float>) throws -> Void) rethrows {
        if let region = loadRegion, region.count >= count {
            defer { region.base.update(repeating: 0, count: count) }
            try write(region.base)
            load(parameters: region.base)
            return
        }
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        defer { buffer.deallocate() }
        try write(buffer)
        load(parameters: buffer)
    }

    /// Runs the steps in `range` (the trainer's stages around batch norms).
    public func forward(_ frame: Frame, steps range: Range<Int>) {
        for step in steps[range] { step.forward(frame) }
    }

    /// Runs every step; with `times`, adds each step's nanoseconds to `times[step]`.
    public func forward(_ frame: Frame, times: UnsafeMutablePointer<UInt64>? = nil) {
        guard let times else {
            for step in steps { step.forward(frame) }
            return
        }
        for (i, step) in steps.enumerated() {
            let start = clock()
            step.forward(frame)
            times[i] += clock() &- start
        }
    }

    /// Steps whose backward pass is replaced by zeros (tests prove that every layer's
    /// backward matters by switching it off).
    var zeroedBackward = Set<String>()

    /// The backward pass after `forward`, from the gradient of the logits (which the caller
    /// has written into `frame`'s gradient of `logitsTensor`): a final softmax or log-softmax
    /// is part of the loss, so it is skipped.
    public func backward(_ frame: Frame) { backward(frame, steps: 0 ..< steps.count) }

    /// The backward pass of the steps in `range`, last first (the trainer's stages around
    /// batch norms); a final softmax or log-softmax is skipped as in `backward(_:)`.
    public func backward(_ frame: Frame, steps range: Range<Int>) {
        let end = min(range.upperBound, outputKind == .logits ? steps.count : steps.count - 1)
        guard range.lowerBound < end else { return }
        for step in steps[range.lowerBound ..< end].reversed() {
            if zeroedBackward.contains(step.name) {
                for slot in step.inputs.indices
                where step.inputNeedsGradient[slot] && !(step.addsGradientsInPlace && step.accumulatesGradient[slot]) {
                    step.gradientTarget(frame, slot).initialize(
                        repeating: 0, count: tensors[step.inputs[slot]].layout.capacity)
                }
            } else {
                step.backward(frame)
            }
            for (slot, input) in step.inputs.enumerated()
            where step.accumulatesGradient[slot] && !step.addsGradientsInPlace {
                let target = frame.gradients[input]
                let source = slot == 0 ? frame.gradientScratch.0 : frame.gradientScratch.1
                for i in 0 ..< tensors[input].layout.capacity { target[i] += source[i] }
            }
        }
    }

    // MARK: Batch statistics

    /// The steps (indices) of the batch norms, which train on the batch's statistics.
    public var batchNormSteps: [Int] { steps.indices.filter { steps[$0] is BatchNormStep } }

    private func batchNorm(_ step: Int) -> BatchNormStep { steps[step] as! BatchNormStep }

    /// Doubles of one batch norm's sums: 2 x its channel lanes.
    public func batchSumsCount(step: Int) -> Int { 2 * batchNorm(step).lanes.stride }

    /// Adds one frame's sums of the batch norm's input, x and x^2 per channel.
    public func addBatchStatistics(_ frame: Frame, step: Int, into sums: UnsafeMutablePointer<Double>) {
        batchNorm(step).addStatistics(frame, into: sums)
    }

    /// Sets the batch's mean and variance from the sums over `images` frames; returns where
    /// the running statistics are in the flat parameters and the batch's mean and unbiased
    /// variance, for the trainer's running update.
    public func setBatchStatistics(step: Int, sums: UnsafePointer<Double>, images: Int) -> (
        meanOffset: Int, varianceOffset: Int, mean: [Float], variance: [Float]
    ) {
        let norm = batchNorm(step)
        let (mean, variance) = norm.setStatistics(sums, images: images)
        return (norm.offsets.mean, norm.offsets.variance, mean, variance)
    }

    /// The first half of the batch norm's backward pass in one frame (its weight and bias
    /// gradients); returns them (2 x lanes floats) for the batch's sums.
    /// With `computed`, only returns what an earlier call computed.
    public func batchNormBackwardSums(_ frame: Frame, step: Int, computed: Bool = false) -> UnsafePointer<Float> {
        let norm = batchNorm(step)
        if computed { return norm.backwardSumsBuffer(frame) }
        if zeroedBackward.contains(norm.name) {
            frame.accumulators[norm.index].initialize(repeating: 0, count: norm.gradientFloats)
        } else {
            norm.backwardSums(frame)
        }
        return norm.backwardSumsBuffer(frame)
    }

    /// Sets the batch's sums of dy * xhat and dy, summed over every frame's `batchNormBackwardSums`.
    public func setBatchNormBackwardSums(step: Int, sums: UnsafePointer<Double>, images: Int) {
        batchNorm(step).setBackwardSums(sums, images: images)
    }

    /// The gradient buffer of tensor `id` in a training frame.
    public func gradient(_ frame: Frame, _ id: Int) -> UnsafeMutablePointer<Float> { frame.gradients[id] }

    /// Clears a training frame's parameter-gradient accumulators.
    public func zeroAccumulators(_ frame: Frame) {
        for (i, step) in steps.enumerated() where step.gradientFloats > 0 {
            frame.accumulators[i].initialize(repeating: 0, count: step.gradientFloats)
        }
    }

    /// Adds a training frame's accumulated gradients into the flat gradient vector.
    public func addGradients(of frame: Frame, into gradients: UnsafeMutablePointer<Float>) {
        for (i, step) in steps.enumerated() where step.gradientFloats > 0 {
            step.unpackGradients(frame.accumulators[i], into: gradients)
        }
    }

    @inline(__always)
    private func clock() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }
}

/// A table of pointers, one per tensor or step, allocated once.
private struct Table<Element> {
    let buffer: RawBuffer
    let pointer: UnsafeMutablePointer<Element>

    init(_ count: Int, _ fill: Element) {
        buffer = RawBuffer(bytes: max(count, 1) * MemoryLayout<Element>.stride)
        pointer = buffer.pointer.bindMemory(to: Element.self, capacity: max(count, 1))
        pointer.initialize(repeating: fill, count: max(count, 1))
    }
}

/// A pooling window with padding or ceil mode, over `from` into the `output` map.
private func poolShape(_ from: TensorLayout, _ pooling: Pooling, output: TensorShape) -> PoolShape {
    PoolShape(
        inH: from.shape.height, inW: from.shape.width, channels: from.stride, kernelH: pooling.kernel.height,
        kernelW: pooling.kernel.width, strideH: pooling.stride.height, strideW: pooling.stride.width,
        padTop: pooling.padding.height, padLeft: pooling.padding.width, outH: output.height, outW: output.width,
        countIncludePad: pooling.countIncludePad, padBottom: pooling.padding.height, padRight: pooling.padding.width)
}

private func poolShape(_ from: TensorLayout, kernel: Size2, stride: Size2) -> PoolShape {
    PoolShape(
        inH: from.shape.height, inW: from.shape.width, channels: from.stride, kernelH: kernel.height,
        kernelW: kernel.width, strideH: stride.height, strideW: stride.width)
}

extension TransformKind {
    /// The kernel that generates this transform's grid.
    public var kernelKind: TransformGrid.Kind {
        switch self {
        case .attention: return .attention
        case .affine: return .affine
        case .projective: return .projective
        case .tps: return .thinPlateSpline
        }
    }
}
