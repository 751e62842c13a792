import STNKernelInterface

/// `nn.Linear` on a vector (a flattened map keeps its NHWC order: the packing maps it onto
/// PyTorch's (C, H, W) order).
final class LinearStep: Step {
    let shape: LinearShape
    let realInputs: Int
    let inputIndex: [Int?]
    let weightOffset: Int
    let biasOffset: Int?
    let kernels: KernelTable

    private var packed: UnsafeMutablePointer<Float>!
    private var packedT: UnsafeMutablePointer<Float>?
    private var bias: UnsafeMutablePointer<Float>!

    init(
        name: String, input: Int, output: Int, shape: LinearShape, realInputs: Int, inputIndex: [Int?],
        weightOffset: Int, biasOffset: Int?, kernels: KernelTable
    ) {
        self.shape = shape
        self.realInputs = realInputs
        self.inputIndex = inputIndex
        self.weightOffset = weightOffset
        self.biasOffset = biasOffset
        self.kernels = kernels
        super.init(name: name, inputs: [input], output: output)
    }

    override func weightFloats(training: Bool) -> Int {
        roundUp16(shape.inputs * shape.outputsP) + roundUp16(shape.outputsP)
            + (training ? roundUp16(shape.outputsP * shape.inputsP) : 0)
    }

    override func bind(weights: UnsafeMutablePointer<Float>, training: Bool) {
        packed = weights
        bias = weights + roundUp16(shape.inputs * shape.outputsP)
        if training { packedT = bias + roundUp16(shape.outputsP) }
    }

    override func load(_ parameters: UnsafePointer<Float>) {
        shape.pack(
            torch: parameters + weightOffset, realInputs: realInputs, inputIndex: inputIndex, into: packed,
            transposed: packedT)
        bias.initialize(repeating: 0, count: shape.outputsP)
        if let biasOffset { bias.update(from: parameters + biasOffset, count: shape.outputs) }
    }

    override var isTrainable: Bool { true }
    override var gradientFloats: Int { shape.inputs * shape.outputsP + shape.outputsP }

    override func unpackGradients(_ accumulators: UnsafePointer<Float>, into gradients: UnsafeMutablePointer<Float>) {
        shape.unpackAdding(
            packed: accumulators, realInputs: realInputs, inputIndex: inputIndex, into: gradients + weightOffset)
        if let biasOffset {
            let dBias = accumulators + shape.inputs * shape.outputsP
            for o in 0 ..< shape.outputs { gradients[biasOffset + o] += dBias[o] }
        }
    }

    override func forward(_ frame: Frame) {
        kernels.linearForward(shape, frame.values[inputs[0]], packed, bias, frame.values[output])
    }

    override func backward(_ frame: Frame) {
        let dOutput = frame.gradients[output]
        let accumulators = frame.accumulators[index]
        kernels.linearBackwardWeights(
            shape, frame.values[inputs[0]], dOutput, accumulators, accumulators + shape.inputs * shape.outputsP)
        guard inputNeedsGradient[0], let packedT else { return }
        kernels.linearBackwardInput(shape, dOutput, packedT, gradientTarget(frame, 0))
    }
}
