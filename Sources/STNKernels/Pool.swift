/// Max and average pooling with any window and stride (no padding, floor mode), over NHWC
/// buffers of `channels` lanes per pixel. The 2 x 2, stride-2 max pool followed by ReLU has
/// its own faster kernel, `PoolReLUShape`.
public struct PoolShape: Sendable, Equatable {
    public let inH: Int, inW: Int, channels: Int
    public let kernelH: Int, kernelW: Int
    public let strideH: Int, strideW: Int
    public var outH: Int { (inH - kernelH) / strideH + 1 }
    public var outW: Int { (inW - kernelW) / strideW + 1 }
    public var outputCount: Int { outH * outW * channels }
    public var inputCount: Int { inH * inW * channels }

    public init(inH: Int, inW: Int, channels: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int) {
        self.inH = inH
        self.inW = inW
        self.channels = channels
        self.kernelH = kernelH
        self.kernelW = kernelW
        self.strideH = strideH
        self.strideW = strideW
    }

    /// Maximum of each window; `argmax` (optional) receives the input index of the first
    /// maximum in scan order, as PyTorch keeps it.
    public func maxForward(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?
    ) {
        #if STN_DISPATCH
            if let kernels = ISA.kernels {
                return kernels.maxPoolForward(self, input: input, output: output, argmax: argmax)
            }
        #endif
        for y in 0 ..< outH {
            for x in 0 ..< outW {
                let o = (y * outW + x) * channels
                for c in 0 ..< channels {
                    var best = -Float.infinity
                    var at = ((y * strideH) * inW + x * strideW) * channels + c
                    for ky in 0 ..< kernelH {
                        for kx in 0 ..< kernelW {
                            let i = ((y * strideH + ky) * inW + x * strideW + kx) * channels + c
                            // NaN wins, as in PyTorch, so a non-finite input is not hidden.
                            if input[i] > best || input[i].isNaN {
                                best = input[i]
                                at = i
                                if best.isNaN { break }
                            }
                        }
                    }
                    output[o + c] = best
                    argmax?[o + c] = Int32(at)
                }
            }
        }
    }

    /// dInput (overwritten): each output's gradient goes to its maximum.
    public func maxBackward(
        dOutput: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, dInput: UnsafeMutablePointer<Float>
    ) {
        #if STN_DISPATCH
            if let kernels = ISA.kernels {
                return kernels.maxPoolBackward(self, dOutput: dOutput, argmax: argmax, dInput: dInput)
            }
        #endif
        dInput.initialize(repeating: 0, count: inputCount)
        for o in 0 ..< outputCount { dInput[Int(argmax[o])] += dOutput[o] }
    }

    /// Mean of each window.
    public func averageForward(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        #if STN_DISPATCH
            if let kernels = ISA.kernels { return kernels.averagePoolForward(self, input: input, output: output) }
        #endif
        let divisor = Float(kernelH * kernelW)
        for y in 0 ..< outH {
            for x in 0 ..< outW {
                let o = (y * outW + x) * channels
                for c in 0 ..< channels {
                    var sum: Float = 0
                    for ky in 0 ..< kernelH {
                        for kx in 0 ..< kernelW {
                            sum += input[((y * strideH + ky) * inW + x * strideW + kx) * channels + c]
                        }
                    }
                    output[o + c] = sum / divisor
                }
            }
        }
    }

    /// dInput (overwritten): each output's gradient spread evenly over its window.
    public func averageBackward(dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>) {
        #if STN_DISPATCH
            if let kernels = ISA.kernels { return kernels.averagePoolBackward(self, dOutput: dOutput, dInput: dInput) }
        #endif
        dInput.initialize(repeating: 0, count: inputCount)
        let divisor = Float(kernelH * kernelW)
        for y in 0 ..< outH {
            for x in 0 ..< outW {
                for c in 0 ..< channels {
                    let g = dOutput[(y * outW + x) * channels + c] / divisor
                    for ky in 0 ..< kernelH {
                        for kx in 0 ..< kernelW {
                            dInput[((y * strideH + ky) * inW + x * strideW + kx) * channels + c] += g
                        }
                    }
                }
            }
        }
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

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif
