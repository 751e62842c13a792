import STNKernelInterface

/// A 2 x 2, stride-2 max pool and the ReLU that reads it, in one pass (the pool's own
/// output is never stored).
final class MaxPoolReLUStep: Step {
    let shape: PoolReLUShape
    let kernels: KernelTable

    init(name: String, input: Int, output: Int, shape: PoolReLUShape, kernels: KernelTable) {
        self.shape = shape
        self.kernels = kernels
        super.init(name: name, inputs: [input], output: output)
    }

    override func savedIntegers(training: Bool) -> Int { training ? shape.outputCount : 0 }

    override func forward(_ frame: Frame) {
        kernels.poolReLUForward(
            shape, frame.values[inputs[0]], frame.values[output], frame.training ? frame.savedIntegers[index] : nil)
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        kernels.poolReLUBackward(
            shape, frame.gradients[output], frame.values[output], frame.savedIntegers[index], gradientTarget(frame, 0))
    }
}

/// `nn.MaxPool2d` with any window and stride.
final class MaxPoolStep: Step {
    let shape: PoolShape
    let kernels: KernelTable

    init(name: String, input: Int, output: Int, shape: PoolShape, kernels: KernelTable) {
        self.shape = shape
        self.kernels = kernels
        super.init(name: name, inputs: [input], output: output)
    }

    override func savedIntegers(training: Bool) -> Int { training ? shape.outputCount : 0 }

    override func forward(_ frame: Frame) {
        kernels.maxPoolForward(
            shape, frame.values[inputs[0]], frame.values[output], frame.training ? frame.savedIntegers[index] : nil)
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        kernels.maxPoolBackward(shape, frame.gradients[output], frame.savedIntegers[index], gradientTarget(frame, 0))
    }
}

/// `nn.AvgPool2d` with any window and stride.
final class AveragePoolStep: Step {
    let shape: PoolShape
    let kernels: KernelTable

    init(name: String, input: Int, output: Int, shape: PoolShape, kernels: KernelTable) {
        self.shape = shape
        self.kernels = kernels
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        kernels.averagePoolForward(shape, frame.values[inputs[0]], frame.values[output])
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        kernels.averagePoolBackward(shape, frame.gradients[output], gradientTarget(frame, 0))
    }
}

/// `nn.AdaptiveAvgPool2d(1)` and `nn.AdaptiveMaxPool2d(1)`: each channel's mean or maximum
/// over the map, written as a vector of the same lanes.
final class GlobalPoolStep: Step {
    let shape: GlobalPoolShape
    let maximum: Bool
    let kernels: KernelTable

    init(name: String, input: Int, output: Int, shape: GlobalPoolShape, maximum: Bool, kernels: KernelTable) {
        self.shape = shape
        self.maximum = maximum
        self.kernels = kernels
        super.init(name: name, inputs: [input], output: output)
    }

    override func savedIntegers(training: Bool) -> Int { training && maximum ? shape.channels : 0 }

    override func forward(_ frame: Frame) {
        if maximum {
            kernels.globalMaxPoolForward(
                shape, frame.values[inputs[0]], frame.values[output], frame.training ? frame.savedIntegers[index] : nil)
        } else {
            kernels.globalAveragePoolForward(shape, frame.values[inputs[0]], frame.values[output])
        }
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        if maximum {
            kernels.globalMaxPoolBackward(
                shape, frame.gradients[output], frame.savedIntegers[index], gradientTarget(frame, 0))
        } else {
            kernels.globalAveragePoolBackward(shape, frame.gradients[output], gradientTarget(frame, 0))
        }
    }
}
