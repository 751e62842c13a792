import STNKernelInterface

/// `nn.BatchNorm2d` / `nn.BatchNorm1d`.
///
/// At inference (and in a training plan's evaluation frames) it uses the running
/// statistics: per channel x * scale + shift, with scale = weight / sqrt(var + eps) and
/// shift = bias - mean * scale computed when the weights are loaded (an inference plan folds
/// it into the convolution before it instead, where it can).
///
/// In training it normalises by the batch's statistics, as PyTorch's train mode. Those span
/// every image of the batch, which lives in other frames, so the trainer runs the plan in
/// stages around each batch norm (`Plan.batchNormSteps`): it sums each image's
/// `addStatistics` in image order and hands the mean and variance back (`setStatistics`)
/// before any frame runs this step's forward; in the backward pass it first sums every
/// frame's `backwardSums` (the weight and bias gradients, which the accumulators keep)
/// and hands them back (`setBackwardSums`) before the input gradients.
final class BatchNormStep: Step {
    let lanes: TensorLayout.Lanes
    let offsets: (weight: Int, bias: Int, mean: Int, variance: Int)
    let epsilon: Float
    let training: Bool
    let kernels: KernelTable
    /// Inference: scale and shift from the running statistics. Training also: the weight
    /// and bias, the batch mean and 1 / sqrt(var + eps), and the batch's sums of dy and
    /// dy * xhat divided by the values per channel.
    private var scale: UnsafeMutablePointer<Float>!
    private var shift: UnsafeMutablePointer<Float>!
    private var gamma: UnsafeMutablePointer<Float>!
    private var beta: UnsafeMutablePointer<Float>!
    private var batchMean: UnsafeMutablePointer<Float>!
    private var batchInverseDeviation: UnsafeMutablePointer<Float>!
    private var meanGradient: UnsafeMutablePointer<Float>!
    private var meanGradientTimesNormalised: UnsafeMutablePointer<Float>!

    init(
        name: String, input: Int, output: Int, layout: TensorLayout,
        offsets: (weight: Int, bias: Int, mean: Int, variance: Int), epsilon: Float, training: Bool,
        kernels: KernelTable
    ) {
        lanes = layout.lanes
        self.offsets = offsets
        self.epsilon = epsilon
        self.training = training
        self.kernels = kernels
        super.init(name: name, inputs: [input], output: output)
    }

    private var vector: Int { roundUp16(lanes.stride) }

    override func weightFloats(training: Bool) -> Int { (training ? 8 : 2) * vector }

    override func bind(weights: UnsafeMutablePointer<Float>, training: Bool) {
        scale = weights
        shift = weights + vector
        guard training else { return }
        gamma = weights + 2 * vector
        beta = weights + 3 * vector
        batchMean = weights + 4 * vector
        batchInverseDeviation = weights + 5 * vector
        meanGradient = weights + 6 * vector
        meanGradientTimesNormalised = weights + 7 * vector
    }

    override func load(_ parameters: UnsafePointer<Float>) {
        scale.initialize(repeating: 0, count: lanes.stride)
        shift.initialize(repeating: 0, count: lanes.stride)
        for c in 0 ..< lanes.channels {
            let factor = parameters[offsets.weight + c] / (parameters[offsets.variance + c] + epsilon).squareRoot()
            scale[c] = factor
            shift[c] = parameters[offsets.bias + c] - parameters[offsets.mean + c] * factor
        }
        guard training else { return }
        gamma.initialize(repeating: 0, count: lanes.stride)
        beta.initialize(repeating: 0, count: lanes.stride)
        gamma.update(from: parameters + offsets.weight, count: lanes.channels)
        beta.update(from: parameters + offsets.bias, count: lanes.channels)
    }

    override var isTrainable: Bool { true }
    /// d weight, then d bias (per frame: the sums over its pixels).
    override var gradientFloats: Int { 2 * lanes.stride }

    override func unpackGradients(_ accumulators: UnsafePointer<Float>, into gradients: UnsafeMutablePointer<Float>) {
        for c in 0 ..< lanes.channels {
            gradients[offsets.weight + c] += accumulators[c]
            gradients[offsets.bias + c] += accumulators[lanes.stride + c]
        }
    }

    override func forward(_ frame: Frame) {
        guard frame.batchStatistics else {
            kernels.channelAffineForward(
                frame.values[inputs[0]], scale, shift, frame.values[output], lanes.pixels, lanes.stride)
            return
        }
        // y = (x - mean) * invstd * gamma + beta, as one scale and shift per channel.
        let (s, t) = (frame.scratch, frame.scratch + vector)
        for c in 0 ..< lanes.stride {
            s[c] = batchInverseDeviation[c] * gamma[c]
            t[c] = beta[c] - batchMean[c] * s[c]
        }
        kernels.channelAffineForward(frame.values[inputs[0]], s, t, frame.values[output], lanes.pixels, lanes.stride)
    }

    override func scratchFloats(training: Bool) -> Int { 2 * vector }

    /// Adds this frame's per-channel sums of x and x^2 (Double) into `sums` (2 x stride).
    func addStatistics(_ frame: Frame, into sums: UnsafeMutablePointer<Double>) {
        let x = frame.values[inputs[0]]
        for p in 0 ..< lanes.pixels {
            let row = x + p * lanes.stride
            for c in 0 ..< lanes.channels {
                let v = Double(row[c])
                sums[c] += v
                sums[lanes.stride + c] += v * v
            }
        }
    }

    /// The batch's statistics from the summed `addStatistics` of `images` frames; returns
    /// each channel's mean and unbiased variance for the running statistics.
    func setStatistics(_ sums: UnsafePointer<Double>, images: Int) -> (mean: [Float], variance: [Float]) {
        let n = Double(images * lanes.pixels)
        var means = [Float](repeating: 0, count: lanes.channels)
        var variances = [Float](repeating: 0, count: lanes.channels)
        batchMean.initialize(repeating: 0, count: lanes.stride)
        batchInverseDeviation.initialize(repeating: 0, count: lanes.stride)
        for c in 0 ..< lanes.channels {
            let mean = sums[c] / n
            let variance = max(sums[lanes.stride + c] / n - mean * mean, 0)
            batchMean[c] = Float(mean)
            batchInverseDeviation[c] = Float(1 / (variance + Double(epsilon)).squareRoot())
            means[c] = Float(mean)
            variances[c] = Float(n > 1 ? variance * n / (n - 1) : variance)
        }
        return (means, variances)
    }

    /// The first half of the backward pass: this frame's weight and bias gradients, the sums
    /// over its pixels of dy * xhat and dy, into its accumulators.
    func backwardSums(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let dy = frame.gradients[output]
        let dGamma = frame.accumulators[index]
        let dBeta = dGamma + lanes.stride
        for p in 0 ..< lanes.pixels {
            let at = p * lanes.stride
            for c in 0 ..< lanes.channels {
                let normalised = (x[at + c] - batchMean[c]) * batchInverseDeviation[c]
                dGamma[c] += dy[at + c] * normalised
                dBeta[c] += dy[at + c]
            }
        }
    }

    /// Where `backwardSums` left this frame's sums (2 x stride: dy * xhat, then dy).
    func backwardSumsBuffer(_ frame: Frame) -> UnsafePointer<Float> { UnsafePointer(frame.accumulators[index]) }

    /// The batch's sums of dy * xhat and dy (added over every frame's `backwardSumsBuffer`).
    func setBackwardSums(_ sums: UnsafePointer<Double>, images: Int) {
        let n = Double(images * lanes.pixels)
        meanGradient.initialize(repeating: 0, count: lanes.stride)
        meanGradientTimesNormalised.initialize(repeating: 0, count: lanes.stride)
        for c in 0 ..< lanes.channels {
            meanGradientTimesNormalised[c] = Float(sums[c] / n)
            meanGradient[c] = Float(sums[lanes.stride + c] / n)
        }
    }

    /// dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)), once the batch's sums are set.
    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        let x = frame.values[inputs[0]]
        let dy = frame.gradients[output]
        let dx = gradientTarget(frame, 0)
        for p in 0 ..< lanes.pixels {
            let at = p * lanes.stride
            for c in 0 ..< lanes.stride {
                guard c < lanes.channels else {
                    dx[at + c] = 0
                    continue
                }
                let normalised = (x[at + c] - batchMean[c]) * batchInverseDeviation[c]
                dx[at + c] =
                    gamma[c] * batchInverseDeviation[c]
                    * (dy[at + c] - meanGradient[c] - normalised * meanGradientTimesNormalised[c])
            }
        }
    }
}
