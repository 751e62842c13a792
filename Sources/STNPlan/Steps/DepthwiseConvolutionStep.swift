import STNKernelInterface

/// `nn.Conv2d` with groups equal to its channels (a depthwise convolution), with any
/// kernel, stride, padding and dilation, vectorised over the channels.
final class DepthwiseConvolutionStep: Step {
    let shape: DepthwiseConv2DShape
    let realChannels: Int
    let weightOffset: Int
    let biasOffset: Int?
    let kernels: KernelTable
    private var packed: UnsafeMutablePointer<Float>!
    private var bias: UnsafeMutablePointer<Float>!

    init(
        name: String, input: Int, output: Int, shape: DepthwiseConv2DShape, realChannels: Int, weightOffset: Int,
        biasOffset: Int?, kernels: KernelTable
    ) {
        self.shape = shape
        self.realChannels = realChannels
        self.weightOffset = weightOffset
        self.biasOffset = biasOffset
        self.kernels = kernels
        super.init(name: name, inputs: [input], output: output)
    }

    private var taps: Int { shape.kernelH * shape.kernelW * shape.channels }

    override func weightFloats(training: Bool) -> Int { roundUp16(taps) + roundUp16(shape.channels) }

    override func bind(weights: UnsafeMutablePointer<Float>, training: Bool) {
        packed = weights
        bias = weights + roundUp16(taps)
    }

    override func load(_ parameters: UnsafePointer<Float>) {
        shape.pack(torch: parameters + weightOffset, realChannels: realChannels, into: packed)
        bias.initialize(repeating: 0, count: shape.channels)
        if let biasOffset { bias.update(from: parameters + biasOffset, count: realChannels) }
    }

    override var isTrainable: Bool { true }
    override var gradientFloats: Int { taps + shape.channels }

    override func unpackGradients(_ accumulators: UnsafePointer<Float>, into gradients: UnsafeMutablePointer<Float>) {
        shape.unpackAdding(packed: accumulators, realChannels: realChannels, into: gradients + weightOffset)
        if let biasOffset {
            for c in 0 ..< realChannels { gradients[biasOffset + c] += accumulators[taps + c] }
        }
    }

    override func forward(_ frame: Frame) {
        kernels.depthwiseForward(shape, frame.values[inputs[0]], packed, bias, frame.values[output])
    }

    override func backward(_ frame: Frame) {
        let accumulators = frame.accumulators[index]
        kernels.depthwiseBackwardWeights(
            shape, frame.values[inputs[0]], frame.gradients[output], accumulators, accumulators + taps)
        guard inputNeedsGradient[0] else { return }
        kernels.depthwiseBackwardInput(shape, frame.gradients[output], packed, gradientTarget(frame, 0))
    }
}
