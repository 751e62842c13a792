import STNKernelInterface

/// `nn.Conv2d` (zero padding by a bordered copy of the input, any kernel and stride), with
/// a batch norm after it folded into its weights at inference. It runs by Winograd on tiles
/// of 4, 6 or 8 points when the cost estimate finds that faster than the direct form
/// (`winogradForm`): the forward pass at inference and in training (where the weights are transformed again at every step's
/// repacking), and in training the backward pass too, as the forward's adjoint in the
/// transformed domain (`WinogradConv2D.backward`): its accumulators then hold the gradient
/// of the transformed weights, mapped back to the filters once per batch. A one-channel
/// layer with a 6, 9, 12 ... tap kernel (a grey frame's first) runs by Winograd over its
/// 3 x 3 pieces instead (`SplitWinogradConv2D`), forward and backward alike.
final class ConvolutionStep: Step {
    let shape: Conv2DShape
    /// The Winograd form this step's forward pass runs by, if any.
    let winograd: WinogradConv2D?
    /// The same form in training, in blocks of as many tiles as the backward pass takes.
    let trainingWinograd: WinogradConv2D?
    /// The split form of a one-channel layer, if it runs by one.
    let split: SplitWinogradConv2D?
    /// The unpadded input, and the padding added on each side.
    let inputHeight: Int, inputWidth: Int
    let padH: Int, padW: Int
    let realInC: Int
    let weightOffset: Int
    let biasOffset: Int?
    /// Offsets of a folded batch norm's weight, bias, running mean and variance, and epsilon.
    var batchNorm: (weight: Int, bias: Int, mean: Int, variance: Int, epsilon: Float)?
    let kernels: KernelTable

    private var packed: UnsafeMutablePointer<Float>!
    private var packedT: UnsafeMutablePointer<Float>?
    private var bias: UnsafeMutablePointer<Float>!
    /// The Winograd-transformed weights (with `winograd` or `split`), and in training their
    /// transpose.
    private var transformed: UnsafeMutablePointer<Float>?
    private var transformedT: UnsafeMutablePointer<Float>?

    init(
        name: String, input: Int, output: Int, shape: Conv2DShape, inputHeight: Int, inputWidth: Int, padH: Int,
        padW: Int, realInC: Int, weightOffset: Int, biasOffset: Int?,
        batchNorm: (weight: Int, bias: Int, mean: Int, variance: Int, epsilon: Float)?, kernels: KernelTable
    ) {
        self.shape = shape
        winograd = Self.winogradForm(shape, realInC: realInC)
        trainingWinograd = winograd.map {
            WinogradConv2D(
                shape: shape, realInC: realInC, alpha: $0.transform.alpha, tileRowsPerBlock: $0.backwardTileRowsPerBlock
            )
        }
        split = winograd == nil ? Self.splitForm(shape) : nil
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.padH = padH
        self.padW = padW
        self.realInC = realInC
        self.weightOffset = weightOffset
        self.biasOffset = biasOffset
        self.batchNorm = batchNorm
        self.kernels = kernels
        super.init(name: name, inputs: [input], output: output)
    }

    /// Winograd when it applies (stride 1, square kernel 2-7, channels in 8s) over at least 6
    /// tiles (fewer leave the GEMMs' 6-row blocks partly idle), on the tile size and tile rows
    /// per block that `ConvolutionCost` estimates fastest, if that beats the direct form.
    /// Small maps take small tiles: GTSRB's 3x3 layer on 11 x 11 runs F(4x4, 3x3), whose
    /// transformed weights are 36 / 64 of F(6x6, 3x3)'s, over 9 tiles instead of 4.
    static func winogradForm(_ shape: Conv2DShape, realInC: Int) -> WinogradConv2D? {
        var best: (cost: Double, form: WinogradConv2D?) = (ConvolutionCost.direct(shape), nil)
        for alpha in [4, 6, 8] where WinogradConv2D.supports(shape, alpha: alpha) {
            let oneRow = WinogradConv2D(shape: shape, realInC: realInC, alpha: alpha, tileRowsPerBlock: 1)
            guard oneRow.tiles >= 6 else { continue }
            for rows in 1 ... oneRow.tilesY {
                let form =
                    rows == 1
                    ? oneRow : WinogradConv2D(shape: shape, realInC: realInC, alpha: alpha, tileRowsPerBlock: rows)
                if rows > 1 && form.scratchFloats > ConvolutionCost.blockScratchFloats { break }
                let cost = ConvolutionCost.winograd(form)
                if cost < best.cost { best = (cost, form) }
            }
        }
        return best.form
    }

    /// The split form when it applies (one input channel, stride 1, a square kernel of 3s
    /// taps), saves at least half the multiplies, and its scratch (all tiles at once: about
    /// 9 floats per output value) stays under 16 MiB: a frame of thousands of pixels a side
    /// runs direct, as it did, rather than planning an arena of hundreds of megabytes.
    static func splitForm(_ shape: Conv2DShape) -> SplitWinogradConv2D? {
        guard SplitWinogradConv2D.supports(shape) else { return nil }
        let form = SplitWinogradConv2D(shape: shape)
        return form.multiplyRatio >= 2 && form.backwardScratchFloats <= 1 << 22 ? form : nil
    }

    private var padded: Bool { padH > 0 || padW > 0 }

    override func weightFloats(training: Bool) -> Int {
        roundUp16(shape.k * shape.outCp) + roundUp16(shape.outCp) + (training ? backwardWeightFloats : 0)
            + roundUp16(winograd?.weightFloats ?? split?.weightFloats ?? 0)
    }

    /// The layout the input gradient reads: U^T for Winograd, else the direct packing's transpose.
    private var backwardWeightFloats: Int {
        roundUp16(winograd?.weightFloats ?? split?.transposedWeightFloats ?? shape.outCp * shape.kp)
    }

    override func bind(weights: UnsafeMutablePointer<Float>, training: Bool) {
        packed = weights
        bias = weights + roundUp16(shape.k * shape.outCp)
        var cursor = bias + roundUp16(shape.outCp)
        if training {
            if winograd != nil || split != nil { transformedT = cursor } else { packedT = cursor }
            cursor += backwardWeightFloats
        }
        if winograd != nil || split != nil { transformed = cursor }
    }

    override func load(_ parameters: UnsafePointer<Float>) {
        shape.pack(torch: parameters + weightOffset, realInC: realInC, into: packed)
        if let packedT { shape.transpose(packed: packed, into: packedT) }
        bias.initialize(repeating: 0, count: shape.outCp)
        if let biasOffset { bias.update(from: parameters + biasOffset, count: shape.outC) }
        if let bn = batchNorm {
            // y = gamma * (conv - mean) / sqrt(var + eps) + beta, per output channel.
            for o in 0 ..< shape.outC {
                let factor = parameters[bn.weight + o] / (parameters[bn.variance + o] + bn.epsilon).squareRoot()
                for row in 0 ..< shape.k { packed[row * shape.outCp + o] *= factor }
                bias[o] = (bias[o] - parameters[bn.mean + o]) * factor + parameters[bn.bias + o]
            }
        }
        if let winograd, let transformed {
            kernels.winogradTransformWeights(winograd, packed, transformed)
            if let transformedT { winograd.transposeWeights(transformed, into: transformedT) }
        }
        if let split, let transformed {
            kernels.splitWinogradTransformWeights(split, packed, transformed)
            if let transformedT { split.transposeWeights(transformed, into: transformedT) }
        }
    }

    override var isTrainable: Bool { true }
    /// Accumulated weight gradient: of U (either Winograd form) or of the direct packing.
    private var weightGradientFloats: Int { winograd?.weightFloats ?? split?.weightFloats ?? shape.k * shape.outCp }
    override var gradientFloats: Int { weightGradientFloats + shape.outCp }

    override func unpackGradients(_ accumulators: UnsafePointer<Float>, into gradients: UnsafeMutablePointer<Float>) {
        if let winograd {
            winograd.addWeightGradient(accumulators, into: gradients + weightOffset)
        } else if let split {
            split.addWeightGradient(accumulators, into: gradients + weightOffset)
        } else {
            shape.unpackAdding(packed: accumulators, realInC: realInC, into: gradients + weightOffset)
        }
        if let biasOffset {
            let dBias = accumulators + weightGradientFloats
            for o in 0 ..< shape.outC { gradients[biasOffset + o] += dBias[o] }
        }
    }

    override func savedFloats(training: Bool) -> Int { padded ? shape.inputCount : 0 }
    /// The backward pass's per-position input gradients (and their padded image).
    override func scratchFloats(training: Bool) -> Int {
        guard training else { return winograd?.scratchFloats ?? split?.scratchFloats ?? 0 }
        let paddedGradient = padded ? shape.inputCount : 0
        if let split { return split.backwardScratchFloats + paddedGradient }
        guard let winograd else { return shape.positions * shape.kp + paddedGradient }
        return max((trainingWinograd ?? winograd).scratchFloats, winograd.backwardScratchFloats + paddedGradient)
    }

    /// The input the kernel reads: the tensor itself, or its zero-bordered copy.
    private func kernelInput(_ frame: Frame, copy: Bool) -> UnsafeMutablePointer<Float> {
        let input = frame.values[inputs[0]]
        guard padded else { return input }
        let target = frame.savedFloats[index]
        if copy {
            target.initialize(repeating: 0, count: shape.inputCount)
            let row = inputWidth * shape.inC
            for y in 0 ..< inputHeight {
                (target + ((y + padH) * shape.inW + padW) * shape.inC).update(from: input + y * row, count: row)
            }
        }
        return target
    }

    override func forward(_ frame: Frame) {
        if let winograd, let transformed {
            kernels.winogradForward(
                transformedT == nil ? winograd : trainingWinograd ?? winograd, kernelInput(frame, copy: true),
                transformed, bias, frame.scratch, frame.values[output])
            return
        }
        if let split, let transformed {
            kernels.splitWinogradForward(
                split, kernelInput(frame, copy: true), transformed, bias, frame.scratch, frame.values[output])
            return
        }
        kernels.conv2DForward(shape, kernelInput(frame, copy: true), packed, bias, frame.values[output])
    }

    override func backward(_ frame: Frame) {
        let dOutput = frame.gradients[output]
        let accumulators = frame.accumulators[index]
        let input = kernelInput(frame, copy: false)
        if let transformedT {
            // Either Winograd form: both gradients in the transformed domain.
            let needsInput = inputNeedsGradient[0]
            let paddedGradient = frame.scratch + (winograd?.backwardScratchFloats ?? split?.backwardScratchFloats ?? 0)
            let dInput = needsInput ? (padded ? paddedGradient : gradientTarget(frame, 0)) : nil
            if let winograd {
                kernels.winogradBackward(
                    winograd, input, dOutput, transformedT, frame.scratch, accumulators,
                    accumulators + winograd.weightFloats, dInput)
            } else if let split {
                kernels.splitWinogradBackward(
                    split, input, dOutput, transformedT, frame.scratch, accumulators, accumulators + split.weightFloats,
                    dInput)
            }
            if needsInput && padded { copyUnpadded(paddedGradient, into: gradientTarget(frame, 0)) }
            return
        }
        kernels.conv2DBackwardWeights(shape, input, dOutput, accumulators, accumulators + shape.k * shape.outCp)
        guard inputNeedsGradient[0], let packedT else { return }
        let target = gradientTarget(frame, 0)
        guard padded else {
            kernels.conv2DBackwardInput(shape, dOutput, packedT, frame.scratch, target)
            return
        }
        let paddedGradient = frame.scratch + shape.positions * shape.kp
        kernels.conv2DBackwardInput(shape, dOutput, packedT, frame.scratch, paddedGradient)
        copyUnpadded(paddedGradient, into: target)
    }

    /// The gradient of the unpadded input: the inside of the padded input's gradient.
    private func copyUnpadded(_ paddedGradient: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>) {
        let row = inputWidth * shape.inC
        for y in 0 ..< inputHeight {
            (target + y * row).update(from: paddedGradient + ((y + padH) * shape.inW + padW) * shape.inC, count: row)
        }
    }
}

@inline(__always)
func roundUp16(_ n: Int) -> Int { (max(n, 1) + 15) & ~15 }
