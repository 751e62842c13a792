#if canImport(Glibc)
    import Glibc  // exp, log
#else
    import Darwin
#endif

/// Log-softmax over `count` logits and the negative log-likelihood of a label. Compiled once,
/// not per ISA (the engine and the trainer call it once per frame on the class scores), so it
/// gives the same bits under every ISA.
public enum LogSoftmax {
    /// Writes log-probabilities; returns the index of the largest.
    @discardableResult
    public static func forward(_ logits: UnsafePointer<Float>, count: Int, into logProbs: UnsafeMutablePointer<Float>)
        -> Int
    {
        var best = 0
        var maximum = logits[0]
        for i in 1 ..< count where logits[i] > maximum {
            maximum = logits[i]
            best = i
        }
        var sum: Float = 0
        for i in 0 ..< count { sum += exp(logits[i] - maximum) }
        if abs(maximum) <= 64 {
            // logits - (max + log sum): the order the trainer has always used (its results
            // stay bit-identical); within a few ulps of the other order at these magnitudes.
            let logSum = log(sum) + maximum
            for i in 0 ..< count { logProbs[i] = logits[i] - logSum }
        } else {
            // (logits - max) - log sum, as PyTorch: with huge logits, max + log sum rounds to
            // max and every class would get log-probability 0.
            let logSum = log(sum)
            for i in 0 ..< count { logProbs[i] = (logits[i] - maximum) - logSum }
        }
        return best
    }

    /// d(scale * NLL(label)) / d logits = scale * (softmax - onehot). With `smoothing` e the
    /// target is (1 - e) onehot + e / count: the gradient of PyTorch's
    /// `cross_entropy(label_smoothing: e)`.
    public static func backward(
        logProbs: UnsafePointer<Float>, count: Int, label: Int, scale: Float, smoothing: Float = 0,
        dLogits: UnsafeMutablePointer<Float>
    ) {
        let floor = smoothing / Float(count)
        for i in 0 ..< count { dLogits[i] = scale * (exp(logProbs[i]) - (i == label ? 1 - smoothing + floor : floor)) }
    }
}

/// Softmax over a vector.
public enum Softmax {
    /// Writes probabilities; returns the index of the largest.
    @discardableResult
    public static func forward(
        _ logits: UnsafePointer<Float>, count: Int, into probabilities: UnsafeMutablePointer<Float>
    )
        -> Int
    {
        let best = LogSoftmax.forward(logits, count: count, into: probabilities)
        for i in 0 ..< count { probabilities[i] = exp(probabilities[i]) }
        return best
    }
}
