/// 2x2 max pooling (stride 2, floor) followed by ReLU, as the seed's `MaxPool2d(2), ReLU()`,
/// over NHWC buffers with `channels` (padded) channels. The forward pass records which of
/// the four inputs won, for the backward pass.
public struct PoolReLUShape: Sendable, Equatable {
    public let inH: Int, inW: Int, channels: Int
    public var outH: Int { inH / 2 }
    public var outW: Int { inW / 2 }
    public var outputCount: Int { outH * outW * channels }
    public var inputCount: Int { inH * inW * channels }

    public init(inH: Int, inW: Int, channels: Int) {
        self.inH = inH; self.inW = inW; self.channels = channels
    }

    /// `argmax` (optional, outputCount entries) receives the input index of each maximum.
    public func forward(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?) {
        let c = channels
        for y in 0 ..< outH {
            for x in 0 ..< outW {
                let i00 = ((2 * y) * inW + 2 * x) * c, i01 = i00 + c
                let i10 = i00 + inW * c, i11 = i10 + c
                let o = (y * outW + x) * c
                for ch in 0 ..< c {
                    // PyTorch keeps the first maximum in scan order (strictly greater replaces).
                    var best = input[i00 + ch], at = i00 + ch
                    if input[i01 + ch] > best { best = input[i01 + ch]; at = i01 + ch }
                    if input[i10 + ch] > best { best = input[i10 + ch]; at = i10 + ch }
                    if input[i11 + ch] > best { best = input[i11 + ch]; at = i11 + ch }
                    output[o + ch] = max(best, 0)
                    argmax?[o + ch] = Int32(at)
                }
            }
        }
    }

    /// dInput (overwritten): each output's gradient goes to its maximum, if the ReLU passed it.
    public func backward(dOutput: UnsafePointer<Float>, output: UnsafePointer<Float>, argmax: UnsafePointer<Int32>,
                         dInput: UnsafeMutablePointer<Float>) {
        dInput.initialize(repeating: 0, count: inputCount)
        for o in 0 ..< outputCount where output[o] > 0 {
            dInput[Int(argmax[o])] += dOutput[o]
        }
    }
}

/// ReLU in place; backward masks the gradient where the output was zero.
public enum ReLU {
    public static func forward(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0 ..< count { x[i] = max(x[i], 0) }
    }

    public static func backward(output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0 ..< count where output[i] <= 0 { gradient[i] = 0 }
    }
}
