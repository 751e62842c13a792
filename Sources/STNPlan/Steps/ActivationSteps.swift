import STNKernelInterface
import STNModel

/// The elementwise activations other than ReLU (`nn.LeakyReLU`, `nn.ELU`, `nn.Tanh`,
/// `nn.Sigmoid`, `nn.SiLU`, `nn.Hardtanh` / `nn.ReLU6`, `nn.Hardsigmoid`, `nn.Hardswish`,
/// `nn.GELU`) on any tensor's lanes; padding lanes are written as zero.
final class ActivationStep: Step {
    let kind: ActivationKind
    let lanes: TensorLayout.Lanes
    let kernels: KernelTable

    init(
        name: String, input: Int, output: Int, activation: STNModel.Activation, layout: TensorLayout,
        kernels: KernelTable
    ) {
        kind = activation.kernelKind
        lanes = layout.lanes
        self.kernels = kernels
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        kernels.activationForward(
            kind, frame.values[inputs[0]], frame.values[output], lanes.pixels, lanes.channels, lanes.stride)
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        kernels.activationBackward(
            kind, frame.values[inputs[0]], frame.values[output], frame.gradients[output], gradientTarget(frame, 0),
            lanes.pixels, lanes.channels, lanes.stride)
    }
}

/// `nn.PReLU`: x, or slope * x below zero, with one learned slope or one per channel.
final class PReLUStep: Step {
    let lanes: TensorLayout.Lanes
    let perChannel: Bool
    let weightOffset: Int
    let kernels: KernelTable
    private var slopes: UnsafeMutablePointer<Float>!

    init(
        name: String, input: Int, output: Int, layout: TensorLayout, perChannel: Bool, weightOffset: Int,
        kernels: KernelTable
    ) {
        lanes = layout.lanes
        self.perChannel = perChannel
        self.weightOffset = weightOffset
        self.kernels = kernels
        super.init(name: name, inputs: [input], output: output)
    }

    override func weightFloats(training: Bool) -> Int { roundUp16(lanes.stride) }
    override func bind(weights: UnsafeMutablePointer<Float>, training: Bool) { slopes = weights }

    override func load(_ parameters: UnsafePointer<Float>) {
        slopes.initialize(repeating: 0, count: lanes.stride)
        slopes.update(from: parameters + weightOffset, count: perChannel ? lanes.channels : 1)
    }

    override var isTrainable: Bool { true }
    override var gradientFloats: Int { roundUp16(lanes.stride) }

    override func unpackGradients(_ accumulators: UnsafePointer<Float>, into gradients: UnsafeMutablePointer<Float>) {
        for c in 0 ..< (perChannel ? lanes.channels : 1) { gradients[weightOffset + c] += accumulators[c] }
    }

    override func forward(_ frame: Frame) {
        kernels.preluForward(
            frame.values[inputs[0]], slopes, !perChannel, frame.values[output], lanes.pixels, lanes.stride)
    }

    override func backward(_ frame: Frame) {
        kernels.preluBackward(
            frame.values[inputs[0]], slopes, !perChannel, frame.gradients[output],
            inputNeedsGradient[0] ? gradientTarget(frame, 0) : nil, frame.accumulators[index], lanes.pixels,
            lanes.stride)
    }
}

extension STNModel.Activation {
    /// The kernel that computes this activation.
    var kernelKind: ActivationKind {
        switch self {
        case .leakyReLU(let slope): return .leakyReLU(slope: slope)
        case .elu(let alpha): return .elu(alpha: alpha)
        case .tanh: return .tanh
        case .sigmoid: return .sigmoid
        case .silu: return .silu
        case .clip(let low, let high): return .clip(min: low, max: high)
        case .hardSigmoid(let alpha, let beta): return .hardSigmoid(alpha: alpha, beta: beta)
        case .hardSwish: return .hardSwish
        case .gelu: return .gelu
        }
    }
}
