/// Stochastic gradient descent with momentum and weight decay, with the semantics of
/// `torch.optim.SGD` (dampening 0, not Nesterov):
///
///     d = g + weightDecay * p
///     v = momentum * v + d        (v = d on the first step)
///     p = p - rate * v
///
/// With `maxGradientNorm`, the gradient is first scaled to at most that global L2 norm, as
/// `torch.nn.utils.clip_grad_norm_` does before `optimizer.step()`.
///
/// Works on flat parameter vectors so one loop updates the whole model.
public struct SGD: Sendable {
    public var momentum: Double
    public var weightDecay: Double
    /// Momentum buffer, same layout as the parameters (empty until the first step).
    public var velocity: [Float]

    public init(momentum: Double, weightDecay: Double, velocity: [Float] = []) {
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.velocity = velocity
    }

    /// One update. `rates[i]` is the learning rate of parameter i's segment: segments let the
    /// localisation net train at a scaled rate.
    /// Returns the gradient's global L2 norm before clipping.
    @discardableResult
    public mutating func step(parameters: inout [Float], gradients: [Float], segments: [(range: Range<Int>, rate: Double)],
                              maxGradientNorm: Double? = nil) -> Double {
        precondition(parameters.count == gradients.count, "parameter and gradient layouts differ")
        let firstStep = velocity.isEmpty
        if firstStep && momentum != 0 { velocity = [Float](repeating: 0, count: parameters.count) }
        let norm = SGD.norm(gradients)
        var scale: Float = 1
        if let maxGradientNorm, norm > maxGradientNorm { scale = Float(maxGradientNorm / (norm + 1e-6)) }
        let mu = Float(momentum), wd = Float(weightDecay)
        parameters.withUnsafeMutableBufferPointer { p in
            gradients.withUnsafeBufferPointer { g in
                velocity.withUnsafeMutableBufferPointer { v in
                    for (range, rate) in segments {
                        let lr = Float(rate)
                        for i in range {
                            let d = scale * g[i] + wd * p[i]
                            if mu == 0 {
                                p[i] -= lr * d
                            } else {
                                let vi = firstStep ? d : mu * v[i] + d
                                v[i] = vi
                                p[i] -= lr * vi
                            }
                        }
                    }
                }
            }
        }
        return norm
    }

    /// L2 norm, accumulated in Double so 110k squares do not lose the small ones.
    public static func norm(_ values: [Float]) -> Double {
        var sum = 0.0
        for v in values { sum += Double(v) * Double(v) }
        return sum.squareRoot()
    }
}
