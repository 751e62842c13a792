/// Max and average pooling with any window, stride and padding, over NHWC buffers of
/// `channels` lanes per pixel, vectorised over channels (16 lanes with AVX-512, else 8; a
/// channel count that is not a multiple of 8, as a planar input's, ends lane by lane). Padding never wins a maximum: each window is clipped to the input
/// (PyTorch's and ONNX's semantics). The average divides by the window's elements inside the
/// input, or with `countIncludePad` by the window clipped to the padded input
/// (-padTop ..< inH + padBottom, likewise across), as ONNX AveragePool and PyTorch's
/// count_include_pad do. The output size is the caller's (floor or ceil mode). The 2 x 2,
/// stride-2 max pool followed by ReLU has its own faster kernel, `PoolReLUShape`.
public struct PoolShape: Sendable, Equatable {
    public let inH: Int, inW: Int, channels: Int
    public let kernelH: Int, kernelW: Int
    public let strideH: Int, strideW: Int
    public let padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
    public let outH: Int, outW: Int
    public let countIncludePad: Bool
    @inlinable public var outputCount: Int { outH * outW * channels }
    @inlinable public var inputCount: Int { inH * inW * channels }

    /// No padding, floor mode.
    @inlinable
    public init(inH: Int, inW: Int, channels: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int) {
        self.init(
            inH: inH, inW: inW, channels: channels, kernelH: kernelH, kernelW: kernelW, strideH: strideH,
            strideW: strideW, padTop: 0, padLeft: 0, outH: (inH - kernelH) / strideH + 1,
            outW: (inW - kernelW) / strideW + 1, countIncludePad: false, padBottom: 0, padRight: 0)
    }

    /// Padding on each side and the output size (which decides floor or ceil mode).
    @inlinable
    public init(
        inH: Int, inW: Int, channels: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, padTop: Int,
        padLeft: Int, outH: Int, outW: Int, countIncludePad: Bool, padBottom: Int, padRight: Int
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
        self.outH = outH
        self.outW = outW
        self.countIncludePad = countIncludePad
    }
}
