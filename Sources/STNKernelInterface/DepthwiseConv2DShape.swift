/// Depthwise convolution (groups == channels, one filter per channel) over one NHWC image,
/// with zero padding on each side, stride and dilation, forward and backward.
///
/// Vectorised over channels (16 lanes with AVX-512, else 8; `channels` is the stride, a
/// multiple of 8). Each output pixel's window is clipped to the input once (the taps that
/// fall in padding are skipped, never read); a 3 x 3 window wholly inside the input, the
/// interior of MobileNet-style blocks, runs unrolled with no checks.
///
/// Weights are packed `[kernelH * kernelW][channels]` from PyTorch's `[realC, 1, kh, kw]`,
/// padding lanes 0.
public struct DepthwiseConv2DShape: Sendable, Equatable {
    public let inH: Int, inW: Int, channels: Int
    public let kernelH: Int, kernelW: Int, strideH: Int, strideW: Int
    public let padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
    public let dilationH: Int, dilationW: Int
    @inlinable public var outH: Int { (inH + padTop + padBottom - dilationH * (kernelH - 1) - 1) / strideH + 1 }
    @inlinable public var outW: Int { (inW + padLeft + padRight - dilationW * (kernelW - 1) - 1) / strideW + 1 }
    @inlinable public var taps: Int { kernelH * kernelW }
    @inlinable public var inputCount: Int { inH * inW * channels }
    @inlinable public var outputCount: Int { outH * outW * channels }
    /// Floats of the packed weights (and of their gradient).
    @inlinable public var packedCount: Int { taps * channels }

    @inlinable
    public init(
        inH: Int, inW: Int, channels: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, padTop: Int,
        padLeft: Int, padBottom: Int, padRight: Int, dilationH: Int, dilationW: Int
    ) {
        self.inH = inH
        self.inW = inW
        self.channels = channels
        self.kernelH = kernelH
        self.kernelW = kernelW
        self.strideH = strideH
        self.strideW = strideW
        self.padTop = padTop
        self.padLeft = padLeft
        self.padBottom = padBottom
        self.padRight = padRight
        self.dilationH = dilationH
        self.dilationW = dilationW
    }

    // MARK: Packing

    /// PyTorch's `[realC, 1, kh, kw]` -> `[kh * kw][channels]`, padding lanes 0.
    public func pack(torch w: UnsafePointer<Float>, realChannels: Int, into packed: UnsafeMutablePointer<Float>) {
        for t in 0 ..< taps {
            for c in 0 ..< channels { packed[t * channels + c] = c < realChannels ? w[c * taps + t] : 0 }
        }
    }

    /// A packed gradient -> PyTorch's `[realC, 1, kh, kw]`, added to `w`.
    public func unpackAdding(packed: UnsafePointer<Float>, realChannels: Int, into w: UnsafeMutablePointer<Float>) {
        for c in 0 ..< realChannels {
            for t in 0 ..< taps { w[c * taps + t] += packed[t * channels + c] }
        }
    }
}
