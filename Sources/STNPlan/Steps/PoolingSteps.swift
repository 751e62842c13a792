import STNKernels

/// A 2 x 2, stride-2 max pool and the ReLU that reads it, in one pass (the pool's own
/// output is never stored).
final class MaxPoolReLUStep: Step {
    let shape: PoolReLUShape

    init(name: String, input: Int, output: Int, shape: PoolReLUShape) {
        self.shape = shape
        super.init(name: name, inputs: [input], output: output)
    }

    override func savedIntegers(training: Bool) -> Int { training ? shape.outputCount : 0 }

    override func forward(_ frame: Frame) {
        shape.forward(
            input: frame.values[inputs[0]], output: frame.values[output],
            argmax: frame.training ? frame.savedIntegers[index] : nil)
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        shape.backward(
            dOutput: frame.gradients[output], output: frame.values[output], argmax: frame.savedIntegers[index],
            dInput: gradientTarget(frame, 0))
    }
}

/// `nn.MaxPool2d` with any window and stride.
final class MaxPoolStep: Step {
    let shape: PoolShape

    init(name: String, input: Int, output: Int, shape: PoolShape) {
        self.shape = shape
        super.init(name: name, inputs: [input], output: output)
    }

    override func savedIntegers(training: Bool) -> Int { training ? shape.outputCount : 0 }

    override func forward(_ frame: Frame) {
        shape.maxForward(
            input: frame.values[inputs[0]], output: frame.values[output],
            argmax: frame.training ? frame.savedIntegers[index] : nil)
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        shape.maxBackward(
            dOutput: frame.gradients[output], argmax: frame.savedIntegers[index], dInput: gradientTarget(frame, 0))
    }
}

/// `nn.AvgPool2d` with any window and stride.
final class AveragePoolStep: Step {
    let shape: PoolShape

    init(name: String, input: Int, output: Int, shape: PoolShape) {
        self.shape = shape
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        shape.averageForward(input: frame.values[inputs[0]], output: frame.values[output])
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        shape.averageBackward(dOutput: frame.gradients[output], dInput: gradientTarget(frame, 0))
    }
}

/// `nn.AdaptiveAvgPool2d(1)` and `nn.AdaptiveMaxPool2d(1)`: each channel's mean or maximum
/// over the map, written as a vector of the same lanes.
final class GlobalPoolStep: Step {
    let shape: GlobalPoolShape
    let maximum: Bool

    init(name: String, input: Int, output: Int, shape: GlobalPoolShape, maximum: Bool) {
        self.shape = shape
        self.maximum = maximum
        super.init(name: name, inputs: [input], output: output)
    }

    override func savedIntegers(training: Bool) -> Int { training && maximum ? shape.channels : 0 }

    override func forward(_ frame: Frame) {
        if maximum {
            shape.maxForward(
                input: frame.values[inputs[0]], output: frame.values[output],
                argmax: frame.training ? frame.savedIntegers[index] : nil)
        } else {
            shape.averageForward(input: frame.values[inputs[0]], output: frame.values[output])
        }
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        if maximum {
            shape.maxBackward(
                dOutput: frame.gradients[output], argmax: frame.savedIntegers[index], dInput: gradientTarget(frame, 0))
        } else {
            shape.averageBackward(dOutput: frame.gradients[output], dInput: gradientTarget(frame, 0))
        }
    }
}
