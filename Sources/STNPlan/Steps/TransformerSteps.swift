import STNKernelInterface

/// Bilinear `F.interpolate`.
final class ResizeStep: Step {
    let inH: Int, inW: Int, outH: Int, outW: Int, stride: Int
    let stepH: Float, stepW: Float
    let alignCorners: Bool
    let kernels: KernelTable

    init(
        name: String, input: Int, output: Int, from: TensorLayout, to: TensorLayout, scale: Float?, alignCorners: Bool,
        kernels: KernelTable
    ) {
        inH = from.shape.height
        inW = from.shape.width
        outH = to.shape.height
        outW = to.shape.width
        stride = from.stride
        stepH = Transformer.resizeStep(input: inH, output: outH, scale: scale, alignCorners: alignCorners)
        stepW = Transformer.resizeStep(input: inW, output: outW, scale: scale, alignCorners: alignCorners)
        self.alignCorners = alignCorners
        self.kernels = kernels
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        kernels.resize(
            frame.values[inputs[0]], inH, inW, stride, outH, outW, stepH, stepW, alignCorners, frame.values[output])
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        kernels.resizeBackward(
            frame.gradients[output], inH, inW, stride, outH, outW, stepH, stepW, alignCorners, gradientTarget(frame, 0))
    }
}

/// A grid generator: a transform's parameters to a height x width x 2 sampling grid.
final class TransformGridStep: Step {
    let generator: TransformGrid
    let thetaCapacity: Int
    let kernels: KernelTable

    init(
        name: String, input: Int, output: Int, generator: TransformGrid, thetaCapacity: Int, kernels: KernelTable
    ) {
        self.generator = generator
        self.thetaCapacity = thetaCapacity
        self.kernels = kernels
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        kernels.transformGridForward(generator, frame.values[inputs[0]], frame.values[output])
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        let dTheta = gradientTarget(frame, 0)
        dTheta.initialize(repeating: 0, count: thetaCapacity)
        kernels.transformGridBackward(generator, frame.values[inputs[0]], frame.gradients[output], dTheta)
    }
}

/// `F.grid_sample` of an image (input 0) at a grid (input 1).
final class GridSampleStep: Step {
    let inH: Int, inW: Int, stride: Int
    let points: Int
    let options: SamplerOptions
    let kernels: KernelTable

    init(
        name: String, image: Int, grid: Int, output: Int, imageLayout: TensorLayout, points: Int,
        options: SamplerOptions, kernels: KernelTable
    ) {
        inH = imageLayout.shape.height
        inW = imageLayout.shape.width
        stride = imageLayout.stride
        self.points = points
        self.options = options
        self.kernels = kernels
        super.init(name: name, inputs: [image, grid], output: output)
    }

    /// The grid's gradient when nothing upstream needs it.
    override func scratchFloats(training: Bool) -> Int { training ? points * 2 : 0 }

    override func forward(_ frame: Frame) {
        kernels.sample(
            frame.values[inputs[0]], inH, inW, stride, frame.values[inputs[1]], points, options, frame.values[output])
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] || inputNeedsGradient[1] else { return }
        kernels.sampleBackward(
            frame.values[inputs[0]], inH, inW, stride, frame.values[inputs[1]], points, options,
            frame.gradients[output], inputNeedsGradient[1] ? gradientTarget(frame, 1) : frame.scratch,
            inputNeedsGradient[0] ? gradientTarget(frame, 0) : nil)
    }
}
