// C entry points to the kernels (Sources/STNKernels), for the Embedded Swift builds of
// tools/ci/test-arm: compiled into the same module as the kernels' own source files
// (`swiftc -enable-experimental-feature Embedded -wmo ... Sources/STNKernels/*.swift
// Embedded/KernelsC.swift`, against the module of Sources/STNKernelInterface), not part of
// the SwiftPM build. Everything works on caller-owned float buffers: nothing here allocates.
// Shapes are `Int32` so the C side uses plain ints.

import STNKernelInterface

/// C (m x n, row-major, n a multiple of 8) += A (m x k, row-major) * B (k x n, row-major).
@_cdecl("stn_gemm")
public func stn_gemm(
    _ m: Int32, _ n: Int32, _ k: Int32, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ c: UnsafeMutablePointer<Float>
) {
    gemmAccumulate(
        m: Int(m), n: Int(n), a: a, rows: .linear(step: Int(k)), b: b,
        reduction: .contiguous(Int(k), ldb: Int(n)), c: c, ldc: Int(n))
}

/// A valid convolution of one NHWC image (`inC` lanes per pixel, the first `realInC` real):
/// PyTorch weights `[outC][realInC][kh][kw]` are packed into `packed` (K x outCp floats,
/// K = kh * kw * inC, outCp = outC rounded up to 8), then output (outH x outW x outCp)
/// = bias (outCp) + input (*) weights.
@_cdecl("stn_conv2d_forward")
public func stn_conv2d_forward(
    _ inH: Int32, _ inW: Int32, _ inC: Int32, _ realInC: Int32, _ outC: Int32,
    _ kernelH: Int32, _ kernelW: Int32, _ strideH: Int32, _ strideW: Int32,
    _ input: UnsafePointer<Float>, _ torchWeights: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
    _ packed: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>
) {
    let shape = Conv2DShape(
        inH: Int(inH), inW: Int(inW), inC: Int(inC), outC: Int(outC), kernelH: Int(kernelH),
        kernelW: Int(kernelW), strideH: Int(strideH), strideW: Int(strideW))
    shape.pack(torch: torchWeights, realInC: Int(realInC), into: packed)
    shape.forward(input: input, packed: packed, bias: bias, output: output)
}

/// The Winograd form of a stride-1 square convolution, as the plan may choose it: F(m x m,
/// r x r) on tiles of `alpha` = 4, 6 or 8 points for 2 to alpha - 1 taps over channels in 8s,
/// or F(6x6, 3x3) over 3 x 3 pieces for one channel and 6, 9, 12 ... taps (alpha 8). Writes
/// the floats its transformed weights and its scratch need (0 and 0 if neither form applies).
@_cdecl("stn_winograd_floats")
public func stn_winograd_floats(
    _ inH: Int32, _ inW: Int32, _ inC: Int32, _ realInC: Int32, _ outC: Int32, _ kernel: Int32, _ alpha: Int32,
    _ weightFloats: UnsafeMutablePointer<Int32>, _ scratchFloats: UnsafeMutablePointer<Int32>
) {
    let shape = Conv2DShape(inH: Int(inH), inW: Int(inW), inC: Int(inC), outC: Int(outC), kernel: Int(kernel))
    weightFloats.pointee = 0
    scratchFloats.pointee = 0
    if WinogradConv2D.supports(shape, alpha: Int(alpha)) {
        let form = WinogradConv2D(shape: shape, realInC: Int(realInC), alpha: Int(alpha))
        weightFloats.pointee = Int32(form.weightFloats)
        scratchFloats.pointee = Int32(form.scratchFloats)
    } else if alpha == 8 && SplitWinogradConv2D.supports(shape) {
        let form = SplitWinogradConv2D(shape: shape)
        weightFloats.pointee = Int32(form.weightFloats)
        scratchFloats.pointee = Int32(form.scratchFloats)
    }
}

/// `stn_conv2d_forward` by the Winograd form (`stn_winograd_floats` sizes `u` and `scratch`).
@_cdecl("stn_winograd_conv2d_forward")
public func stn_winograd_conv2d_forward(
    _ inH: Int32, _ inW: Int32, _ inC: Int32, _ realInC: Int32, _ outC: Int32, _ kernel: Int32, _ alpha: Int32,
    _ input: UnsafePointer<Float>, _ torchWeights: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
    _ packed: UnsafeMutablePointer<Float>, _ u: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>,
    _ output: UnsafeMutablePointer<Float>
) {
    let shape = Conv2DShape(inH: Int(inH), inW: Int(inW), inC: Int(inC), outC: Int(outC), kernel: Int(kernel))
    shape.pack(torch: torchWeights, realInC: Int(realInC), into: packed)
    if WinogradConv2D.supports(shape, alpha: Int(alpha)) {
        let form = WinogradConv2D(shape: shape, realInC: Int(realInC), alpha: Int(alpha))
        form.transformWeights(packed: packed, into: u)
        form.forward(input: input, u: u, bias: bias, scratch: scratch, output: output)
    } else if alpha == 8 && SplitWinogradConv2D.supports(shape) {
        let form = SplitWinogradConv2D(shape: shape)
        form.transformWeights(packed: packed, into: u)
        form.forward(input: input, u: u, bias: bias, scratch: scratch, output: output)
    }
}

/// A fully connected layer: PyTorch weight `[outputs][inputs]` packed into `packed`
/// (inputs x outputsP floats), output (outputsP) = bias (outputsP) + W * input.
@_cdecl("stn_linear_forward")
public func stn_linear_forward(
    _ inputs: Int32, _ outputs: Int32, _ input: UnsafePointer<Float>, _ torchWeights: UnsafePointer<Float>,
    _ bias: UnsafePointer<Float>, _ packed: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>
) {
    let shape = LinearShape(inputs: Int(inputs), outputs: Int(outputs))
    let outputsP = shape.outputsP
    // The layer's own pack() takes a flattened-index map (an array); a plain [outputs][inputs]
    // matrix needs none: packed[i][o] = W[o][i], padded outputs zero.
    packed.initialize(repeating: 0, count: Int(inputs) * outputsP)
    for o in 0 ..< Int(outputs) {
        for i in 0 ..< Int(inputs) { packed[i * outputsP + o] = torchWeights[o * Int(inputs) + i] }
    }
    shape.forward(input: input, packed: packed, bias: bias, output: output)
}

/// 2 x 2 max pooling (stride 2) then ReLU over an NHWC image, `channels` a multiple of 8;
/// `argmax` (outH x outW x channels) receives each maximum's input index.
@_cdecl("stn_pool_relu_forward")
public func stn_pool_relu_forward(
    _ inH: Int32, _ inW: Int32, _ channels: Int32, _ input: UnsafePointer<Float>,
    _ output: UnsafeMutablePointer<Float>, _ argmax: UnsafeMutablePointer<Int32>
) {
    PoolReLUShape(inH: Int(inH), inW: Int(inW), channels: Int(channels))
        .forward(input: input, output: output, argmax: argmax)
}

/// `F.affine_grid` for one 2 x 3 theta: grid (height x width x 2).
@_cdecl("stn_affine_grid")
public func stn_affine_grid(
    _ theta: UnsafePointer<Float>, _ height: Int32, _ width: Int32, _ alignCorners: Int32,
    _ grid: UnsafeMutablePointer<Float>
) {
    Transformer.affineGrid(
        theta: theta, height: Int(height), width: Int(width), alignCorners: alignCorners != 0, into: grid)
}

/// `F.grid_sample` (bilinear; zeros or border padding) of a height x width image with
/// `stride` lanes per pixel at `count` grid points.
@_cdecl("stn_sample_bilinear")
public func stn_sample_bilinear(
    _ input: UnsafePointer<Float>, _ height: Int32, _ width: Int32, _ stride: Int32,
    _ grid: UnsafePointer<Float>, _ count: Int32, _ border: Int32, _ alignCorners: Int32,
    _ output: UnsafeMutablePointer<Float>
) {
    Transformer.sample(
        input, height: Int(height), width: Int(width), stride: Int(stride), grid: grid, count: Int(count),
        options: SamplerOptions(nearest: false, border: border != 0, alignCorners: alignCorners != 0),
        into: output)
}

/// Log-softmax of `count` logits; returns the index of the largest.
@_cdecl("stn_log_softmax")
public func stn_log_softmax(
    _ logits: UnsafePointer<Float>, _ count: Int32, _ logProbs: UnsafeMutablePointer<Float>
) -> Int32 {
    Int32(LogSoftmax.forward(logits, count: Int(count), into: logProbs))
}

/// An elementwise activation over `pixels` pixels of `stride` floats (`channels` real, the
/// rest written 0): kind 0 LeakyReLU(a), 1 ELU(a), 2 tanh, 3 sigmoid, 4 SiLU, 5 clip(a, b),
/// 6 HardSigmoid(a, b), 7 HardSwish, 8 GELU.
@_cdecl("stn_activation_forward")
public func stn_activation_forward(
    _ kind: Int32, _ a: Float, _ b: Float, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
    _ pixels: Int32, _ channels: Int32, _ stride: Int32
) {
    let activation: ActivationKind
    switch kind {
    case 0: activation = .leakyReLU(slope: a)
    case 1: activation = .elu(alpha: a)
    case 2: activation = .tanh
    case 3: activation = .sigmoid
    case 4: activation = .silu
    case 5: activation = .clip(min: a, max: b)
    case 6: activation = .hardSigmoid(alpha: a, beta: b)
    case 7: activation = .hardSwish
    default: activation = .gelu
    }
    Activation.forward(
        activation, input: input, output: output, pixels: Int(pixels), channels: Int(channels), stride: Int(stride))
}

/// A depthwise convolution of one NHWC image (`channels` a multiple of 8, the first
/// `realChannels` real): PyTorch weights `[realChannels][1][kh][kw]` are packed into `packed`
/// (kh x kw x channels floats), then output = bias + the convolution (pads: top, left,
/// bottom, right).
@_cdecl("stn_depthwise_forward")
public func stn_depthwise_forward(
    _ inH: Int32, _ inW: Int32, _ channels: Int32, _ realChannels: Int32, _ kernelH: Int32, _ kernelW: Int32,
    _ strideH: Int32, _ strideW: Int32, _ pads: UnsafePointer<Int32>, _ dilationH: Int32, _ dilationW: Int32,
    _ input: UnsafePointer<Float>, _ torchWeights: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
    _ packed: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>
) {
    let shape = DepthwiseConv2DShape(
        inH: Int(inH), inW: Int(inW), channels: Int(channels), kernelH: Int(kernelH), kernelW: Int(kernelW),
        strideH: Int(strideH), strideW: Int(strideW), padTop: Int(pads[0]), padLeft: Int(pads[1]),
        padBottom: Int(pads[2]), padRight: Int(pads[3]), dilationH: Int(dilationH), dilationW: Int(dilationW))
    shape.pack(torch: torchWeights, realChannels: Int(realChannels), into: packed)
    shape.forward(input: input, packed: packed, bias: bias, output: output)
}

/// Global average (`maximum` 0) or max pooling of `pixels` pixels of `channels` floats;
/// `argmax` (channels entries) receives each maximum's input index.
@_cdecl("stn_global_pool")
public func stn_global_pool(
    _ pixels: Int32, _ channels: Int32, _ maximum: Int32, _ input: UnsafePointer<Float>,
    _ output: UnsafeMutablePointer<Float>, _ argmax: UnsafeMutablePointer<Int32>
) {
    let shape = GlobalPoolShape(pixels: Int(pixels), channels: Int(channels))
    if maximum != 0 {
        shape.maxForward(input: input, output: output, argmax: argmax)
    } else {
        shape.averageForward(input: input, output: output)
    }
}

/// Padded max (`maximum` 1, with argmax) or average pooling (`countIncludePad`) with a
/// symmetric padding and the given output size.
@_cdecl("stn_pool_forward")
public func stn_pool_forward(
    _ inH: Int32, _ inW: Int32, _ channels: Int32, _ kernel: Int32, _ stride: Int32, _ pad: Int32, _ outH: Int32,
    _ outW: Int32, _ maximum: Int32, _ countIncludePad: Int32, _ input: UnsafePointer<Float>,
    _ output: UnsafeMutablePointer<Float>, _ argmax: UnsafeMutablePointer<Int32>
) {
    let shape = PoolShape(
        inH: Int(inH), inW: Int(inW), channels: Int(channels), kernelH: Int(kernel), kernelW: Int(kernel),
        strideH: Int(stride), strideW: Int(stride), padTop: Int(pad), padLeft: Int(pad), outH: Int(outH),
        outW: Int(outW), countIncludePad: countIncludePad != 0, padBottom: Int(pad), padRight: Int(pad))
    if maximum != 0 {
        shape.maxForward(input: input, output: output, argmax: argmax)
    } else {
        shape.averageForward(input: input, output: output)
    }
}
