import STNKernelInterface

/// `nn.ReLU`.
final class ReLUStep: Step {
    let count: Int

    init(name: String, input: Int, output: Int, count: Int) {
        self.count = count
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let y = frame.values[output]
        for i in 0 ..< count { y[i] = max(x[i], 0) }
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        let y = frame.values[output]
        let dy = frame.gradients[output]
        let dx = gradientTarget(frame, 0)
        for i in 0 ..< count { dx[i] = y[i] > 0 ? dy[i] : 0 }
    }
}

/// `nn.Dropout` (each value) and `nn.Dropout2d` (each channel): while the frame's dropout
/// is active, zeroes with probability p and scales the rest by 1 / (1 - p); otherwise copies.
/// At inference the plan makes it an alias instead.
final class DropoutStep: Step {
    let probability: Float
    let perChannel: Bool
    let pixels: Int, channels: Int, stride: Int

    init(name: String, input: Int, output: Int, probability: Float, perChannel: Bool, layout: TensorLayout) {
        self.probability = probability
        self.perChannel = perChannel
        pixels = layout.count / layout.stride
        channels = layout.shape.channels
        stride = layout.stride
        super.init(name: name, inputs: [input], output: output)
    }

    /// One mask value per float (or per channel).
    override func savedFloats(training: Bool) -> Int { perChannel ? stride : pixels * stride }

    override func forward(_ frame: Frame) {
        let mask = frame.savedFloats[index]
        let count = perChannel ? stride : pixels * stride
        if frame.dropoutActive && probability > 0 {
            let kept = 1 / (1 - probability)
            for i in 0 ..< count { mask[i] = frame.nextUnit() < probability ? 0 : kept }
        } else {
            mask.initialize(repeating: 1, count: count)
        }
        let x = frame.values[inputs[0]]
        let y = frame.values[output]
        for p in 0 ..< pixels {
            for c in 0 ..< stride {
                let i = p * stride + c
                y[i] = x[i] * mask[perChannel ? c : i]
            }
        }
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        let mask = frame.savedFloats[index]
        let dy = frame.gradients[output]
        let dx = gradientTarget(frame, 0)
        for p in 0 ..< pixels {
            for c in 0 ..< stride {
                let i = p * stride + c
                dx[i] = dy[i] * mask[perChannel ? c : i]
            }
        }
    }
}

/// Per-channel (x - mean) / std; padding lanes stay zero.
final class NormalizeStep: Step {
    let mean: [Float], std: [Float]
    let pixels: Int, channels: Int, stride: Int

    init(name: String, input: Int, output: Int, mean: [Float], std: [Float], layout: TensorLayout) {
        channels = layout.shape.channels
        self.mean = mean.count == 1 ? Array(repeating: mean[0], count: channels) : mean
        self.std = std.count == 1 ? Array(repeating: std[0], count: channels) : std
        pixels = layout.count / layout.stride
        stride = layout.stride
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let y = frame.values[output]
        mean.withUnsafeBufferPointer { mean in
            std.withUnsafeBufferPointer { std in
                for p in 0 ..< pixels {
                    for c in 0 ..< stride {
                        let i = p * stride + c
                        y[i] = c < channels ? (x[i] - mean[c]) / std[c] : 0
                    }
                }
            }
        }
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        let dy = frame.gradients[output]
        let dx = gradientTarget(frame, 0)
        std.withUnsafeBufferPointer { std in
            for p in 0 ..< pixels {
                for c in 0 ..< stride {
                    let i = p * stride + c
                    dx[i] = c < channels ? dy[i] / std[c] : 0
                }
            }
        }
    }
}

/// Softmax or log-softmax over a vector's features (padding lanes are written as zero).
final class SoftmaxStep: Step {
    let features: Int, stride: Int
    let logarithm: Bool

    init(name: String, input: Int, output: Int, features: Int, stride: Int, logarithm: Bool) {
        self.features = features
        self.stride = stride
        self.logarithm = logarithm
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        let y = frame.values[output]
        if logarithm {
            LogSoftmax.forward(frame.values[inputs[0]], count: features, into: y)
        } else {
            Softmax.forward(frame.values[inputs[0]], count: features, into: y)
        }
        for i in features ..< stride { y[i] = 0 }
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        let y = frame.values[output]
        let dy = frame.gradients[output]
        let dx = gradientTarget(frame, 0)
        var sum: Float = 0
        if logarithm {
            for i in 0 ..< features { sum += dy[i] }
            for i in 0 ..< features { dx[i] = dy[i] - exp(y[i]) * sum }
        } else {
            for i in 0 ..< features { sum += dy[i] * y[i] }
            for i in 0 ..< features { dx[i] = y[i] * (dy[i] - sum) }
        }
        for i in features ..< stride { dx[i] = 0 }
    }
}

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// The sum of two tensors stored alike (a residual connection); each input's gradient is
/// the output's.
final class AddStep: Step {
    let count: Int
    let kernels: KernelTable

    init(name: String, inputs: [Int], output: Int, count: Int, kernels: KernelTable) {
        self.count = count
        self.kernels = kernels
        super.init(name: name, inputs: inputs, output: output)
    }

    override func forward(_ frame: Frame) {
        kernels.add(frame.values[inputs[0]], frame.values[inputs[1]], frame.values[output], count)
    }

    override func backward(_ frame: Frame) {
        let dy = frame.gradients[output]
        for slot in 0 ..< 2 where inputNeedsGradient[slot] {
            gradientTarget(frame, slot).update(from: dy, count: count)
        }
    }
}

/// A layout conversion the plan inserts: an NHWC map of `from` lanes a pixel (the frame's own
/// channels) copied into `to` lanes (channels padded to 8s, padding lanes zero), for kernels
/// that work in whole vectors of channels; the backward pass copies the real lanes back.
final class PadChannelsStep: Step {
    let pixels: Int, from: Int, to: Int

    init(name: String, input: Int, output: Int, pixels: Int, from: Int, to: Int) {
        self.pixels = pixels
        self.from = from
        self.to = to
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let y = frame.values[output]
        y.initialize(repeating: 0, count: pixels * to)
        for p in 0 ..< pixels { (y + p * to).update(from: x + p * from, count: from) }
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        let dy = frame.gradients[output]
        let dx = gradientTarget(frame, 0)
        for p in 0 ..< pixels { (dx + p * from).update(from: dy + p * to, count: from) }
    }
}
