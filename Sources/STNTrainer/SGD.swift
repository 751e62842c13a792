import Foundation

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
/// A segment can instead take Adam steps with decoupled weight decay (`torch.optim.AdamW`,
/// betas 0.9/0.999, eps 1e-8): the localisation net's theta outputs get gradients of very
/// different sizes (placement large, rotation small), and Adam's per-parameter step size
/// lets the small ones learn at a rate the large ones tolerate. Its first moment lives in
/// `velocity`, its second in `secondMoment`.
///
/// Works on flat parameter vectors so one loop updates the whole model.
public struct SGD: Sendable {
    /// How a segment of the parameters is updated.
    public enum Update: Sendable, Equatable {
        case sgd
        /// Adam; `step` is 1 on the first update (for the bias corrections).
        case adam(step: Int)
    }

    public var momentum: Double
    public var weightDecay: Double
    /// Momentum buffer (SGD segments) and Adam's first moment (Adam segments), same layout
    /// as the parameters (empty until the first step).
    public var velocity: [Float]
    /// Adam's second moment, same layout (empty unless a segment takes Adam steps).
    public var secondMoment: [Float]

    public init(momentum: Double, weightDecay: Double, velocity: [Float] = [], secondMoment: [Float] = []) {
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.velocity = velocity
        self.secondMoment = secondMoment
    }

    public static let adamBeta1: Float = 0.9
    public static let adamBeta2: Float = 0.999
    public static let adamEpsilon: Float = 1e-8

    /// One update. `rates[i]` is the learning rate of parameter i's segment: segments let the
    /// localisation net train at a scaled rate.
    /// Returns the gradient's global L2 norm before clipping.
    @discardableResult
    public mutating func step(
        parameters: inout [Float], gradients: [Float], segments: [(range: Range<Int>, rate: Double)],
        maxGradientNorm: Double? = nil
    ) -> Double {
        step(
            parameters: &parameters, gradients: gradients, segments: segments.map { ($0.range, $0.rate, .sgd) },
            maxGradientNorm: maxGradientNorm)
    }

    /// One update, each segment by its own rule.
    @discardableResult
    public mutating func step(
        parameters: inout [Float], gradients: [Float], segments: [(range: Range<Int>, rate: Double, update: Update)],
        maxGradientNorm: Double? = nil
    ) -> Double {
        precondition(parameters.count == gradients.count, "parameter and gradient layouts differ")
        let firstStep = velocity.isEmpty
        let adaptive = segments.contains { $0.update != .sgd }
        if firstStep && (momentum != 0 || adaptive) { velocity = [Float](repeating: 0, count: parameters.count) }
        if adaptive && secondMoment.isEmpty { secondMoment = [Float](repeating: 0, count: parameters.count) }
        let norm = SGD.norm(gradients)
        var scale: Float = 1
        if let maxGradientNorm, norm > maxGradientNorm { scale = Float(maxGradientNorm / (norm + 1e-6)) }
        let mu = Float(momentum)
        let wd = Float(weightDecay)
        parameters.withUnsafeMutableBufferPointer { p in
            gradients.withUnsafeBufferPointer { g in
                velocity.withUnsafeMutableBufferPointer { v in
                    for (range, rate, update) in segments {
                        let lr = Float(rate)
                        if case .adam(let t) = update {
                            secondMoment.withUnsafeMutableBufferPointer { s in
                                SGD.adam(
                                    p, g, v, s, range: range, rate: lr, gradientScale: scale, weightDecay: wd, step: t)
                            }
                            continue
                        }
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

    /// AdamW over one range: m = b1 m + (1 - b1) g, s = b2 s + (1 - b2) g^2,
    /// p -= rate * (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps) + rate * wd * p.
    private static func adam(
        _ p: UnsafeMutableBufferPointer<Float>, _ g: UnsafeBufferPointer<Float>,
        _ m: UnsafeMutableBufferPointer<Float>, _ s: UnsafeMutableBufferPointer<Float>,
        range: Range<Int>, rate: Float, gradientScale: Float, weightDecay: Float, step: Int
    ) {
        let b1 = adamBeta1
        let b2 = adamBeta2
        let t = Float(max(1, step))
        let correction1 = 1 - pow(b1, t)
        let correction2 = 1 - pow(b2, t)
        for i in range {
            let gi = gradientScale * g[i]
            m[i] = b1 * m[i] + (1 - b1) * gi
            s[i] = b2 * s[i] + (1 - b2) * gi * gi
            let update = (m[i] / correction1) / ((s[i] / correction2).squareRoot() + adamEpsilon)
            p[i] -= rate * (update + weightDecay * p[i])
        }
    }

    /// L2 norm, accumulated in Double so 110k squares do not lose the small ones.
    public static func norm(_ values: [Float]) -> Double {
        var sum = 0.0
        for v in values { sum += Double(v) * Double(v) }
        return sum.squareRoot()
    }
}
