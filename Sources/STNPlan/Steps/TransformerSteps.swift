import STNKernels

/// Bilinear `F.interpolate`.
final class ResizeStep: Step {
    let inH: Int, inW: Int, outH: Int, outW: Int, stride: Int
    let stepH: Float, stepW: Float
    let alignCorners: Bool

    init(
        name: String, input: Int, output: Int, from: TensorLayout, to: TensorLayout, scale: Float?, alignCorners: Bool
    ) {
        inH = from.shape.height
        inW = from.shape.width
        outH = to.shape.height
        outW = to.shape.width
        stride = from.stride
        stepH = Transformer.resizeStep(input: inH, output: outH, scale: scale, alignCorners: alignCorners)
        stepW = Transformer.resizeStep(input: inW, output: outW, scale: scale, alignCorners: alignCorners)
        self.alignCorners = alignCorners
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        Transformer.resize(
            frame.values[inputs[0]], inH: inH, inW: inW, stride: stride, outH: outH, outW: outW, stepH: stepH,
            stepW: stepW, alignCorners: alignCorners, into: frame.values[output])
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        Transformer.resizeBackward(
            dOutput: frame.gradients[output], inH: inH, inW: inW, stride: stride, outH: outH, outW: outW,
            stepH: stepH, stepW: stepW, alignCorners: alignCorners, dInput: gradientTarget(frame, 0))
    }
}

/// A grid generator: a transform's parameters to a height x width x 2 sampling grid.
final class TransformGridStep: Step {
    let generator: TransformGrid
    let thetaCapacity: Int

    init(name: String, input: Int, output: Int, generator: TransformGrid, thetaCapacity: Int) {
        self.generator = generator
        self.thetaCapacity = thetaCapacity
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        generator.forward(theta: frame.values[inputs[0]], grid: frame.values[output])
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        let dTheta = gradientTarget(frame, 0)
        dTheta.initialize(repeating: 0, count: thetaCapacity)
        generator.backward(theta: frame.values[inputs[0]], dGrid: frame.gradients[output], dTheta: dTheta)
    }
}

/// `F.grid_sample` of an image (input 0) at a grid (input 1).
final class GridSampleStep: Step {
    let inH: Int, inW: Int, stride: Int
    let points: Int
    let options: SamplerOptions

    init(
        name: String, image: Int, grid: Int, output: Int, imageLayout: TensorLayout, points: Int,
        options: SamplerOptions
    ) {
        inH = imageLayout.shape.height
        inW = imageLayout.shape.width
        stride = imageLayout.stride
        self.points = points
        self.options = options
        super.init(name: name, inputs: [image, grid], output: output)
    }

    /// The grid's gradient when nothing upstream needs it.
    override func scratchFloats(training: Bool) -> Int { training ? points * 2 : 0 }

    override func forward(_ frame: Frame) {
        Transformer.sample(
            frame.values[inputs[0]], height: inH, width: inW, stride: stride, grid: frame.values[inputs[1]],
            count: points, options: options, into: frame.values[output])
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] || inputNeedsGradient[1] else { return }
        Transformer.sampleBackward(
            frame.values[inputs[0]], height: inH, width: inW, stride: stride, grid: frame.values[inputs[1]],
            count: points, options: options, dOutput: frame.gradients[output],
            dGrid: inputNeedsGradient[1] ? gradientTarget(frame, 1) : frame.scratch,
            dInput: inputNeedsGradient[0] ? gradientTarget(frame, 0) : nil)
    }
}
