/// The kernels' public entry points, as one copy of the kernels compiled for one
/// instruction set (a module built from the same source files with its own -target-cpu)
/// implements them. Each call is a whole kernel (a GEMM, a convolution pass, a pooling
/// pass, a sampler pass), so choosing the copy costs one indirect call per step.
protocol ISAKernels: Sendable {
    func gemmAccumulate(
        m: Int, n: Int, a: UnsafePointer<Float>, rows: RowMap, b: UnsafePointer<Float>, reduction: Reduction,
        c: UnsafeMutablePointer<Float>, ldc: Int, start: GEMMStart)

    func conv2DForward(
        _ shape: Conv2DShape, input: UnsafePointer<Float>, packed: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>)
    func conv2DBackwardWeights(
        _ shape: Conv2DShape, input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
        dPacked: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>)
    func conv2DBackwardInput(
        _ shape: Conv2DShape, dOutput: UnsafePointer<Float>, packedT: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, dInput: UnsafeMutablePointer<Float>)

    func winogradForward(
        _ conv: WinogradConv2D, input: UnsafePointer<Float>, u: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>)
    func winogradTransformWeights(
        _ conv: WinogradConv2D, packed: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>)
    func splitWinogradTransformWeights(
        _ conv: SplitWinogradConv2D, packed: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>)
    func splitWinogradForward(
        _ conv: SplitWinogradConv2D, input: UnsafePointer<Float>, u: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>)
    func splitWinogradBackward(
        _ conv: SplitWinogradConv2D, input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
        uT: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, dU: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
        dInput: UnsafeMutablePointer<Float>?)
    func winogradBackward(
        _ conv: WinogradConv2D, input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>, uT: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, dU: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
        dInput: UnsafeMutablePointer<Float>?)

    func linearForward(
        _ shape: LinearShape, input: UnsafePointer<Float>, packed: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>)
    func linearBackwardWeights(
        _ shape: LinearShape, input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
        dPacked: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>)
    func linearBackwardInput(
        _ shape: LinearShape, dOutput: UnsafePointer<Float>, packedT: UnsafePointer<Float>,
        dInput: UnsafeMutablePointer<Float>)

    func poolReLUForward(
        _ shape: PoolReLUShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        argmax: UnsafeMutablePointer<Int32>?)
    func poolReLUBackward(
        _ shape: PoolReLUShape, dOutput: UnsafePointer<Float>, output: UnsafePointer<Float>,
        argmax: UnsafePointer<Int32>, dInput: UnsafeMutablePointer<Float>)

    func maxPoolForward(
        _ shape: PoolShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        argmax: UnsafeMutablePointer<Int32>?)
    func maxPoolBackward(
        _ shape: PoolShape, dOutput: UnsafePointer<Float>, argmax: UnsafePointer<Int32>,
        dInput: UnsafeMutablePointer<Float>)
    func averagePoolForward(_ shape: PoolShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>)
    func averagePoolBackward(_ shape: PoolShape, dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>)

    func resize(
        _ input: UnsafePointer<Float>, inH: Int, inW: Int, stride: Int, outH: Int, outW: Int, stepH: Float,
        stepW: Float, alignCorners: Bool, into output: UnsafeMutablePointer<Float>)
    func resizeBackward(
        dOutput: UnsafePointer<Float>, inH: Int, inW: Int, stride: Int, outH: Int, outW: Int, stepH: Float,
        stepW: Float, alignCorners: Bool, dInput: UnsafeMutablePointer<Float>)
    func affineGrid(
        theta: UnsafePointer<Float>, height: Int, width: Int, alignCorners: Bool,
        into grid: UnsafeMutablePointer<Float>)
    func affineGridBackward(
        dGrid: UnsafePointer<Float>, height: Int, width: Int, alignCorners: Bool,
        dTheta: UnsafeMutablePointer<Float>)
    func sample(
        _ input: UnsafePointer<Float>, height: Int, width: Int, stride: Int, grid: UnsafePointer<Float>,
        count: Int, options: SamplerOptions, into output: UnsafeMutablePointer<Float>)
    func sampleBackward(
        _ input: UnsafePointer<Float>, height: Int, width: Int, stride: Int, grid: UnsafePointer<Float>,
        count: Int, options: SamplerOptions, dOutput: UnsafePointer<Float>, dGrid: UnsafeMutablePointer<Float>,
        dInput: UnsafeMutablePointer<Float>?)

    func channelAffineForward(
        input: UnsafePointer<Float>, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, pixels: Int, stride: Int)
    func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int)

    func activationForward(
        _ kind: ActivationKind, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, pixels: Int,
        channels: Int, stride: Int)
    func activationBackward(
        _ kind: ActivationKind, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
        dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>, pixels: Int, channels: Int, stride: Int)
    func preluForward(
        input: UnsafePointer<Float>, slopes: UnsafePointer<Float>, sharedSlope: Bool,
        output: UnsafeMutablePointer<Float>, pixels: Int, stride: Int)
    func preluBackward(
        input: UnsafePointer<Float>, slopes: UnsafePointer<Float>, sharedSlope: Bool, dOutput: UnsafePointer<Float>,
        dInput: UnsafeMutablePointer<Float>?, dSlopes: UnsafeMutablePointer<Float>, pixels: Int, stride: Int)

    func globalAveragePoolForward(
        _ shape: GlobalPoolShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>)
    func globalAveragePoolBackward(
        _ shape: GlobalPoolShape, dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>)
    func globalMaxPoolForward(
        _ shape: GlobalPoolShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        argmax: UnsafeMutablePointer<Int32>?)
    func globalMaxPoolBackward(
        _ shape: GlobalPoolShape, dOutput: UnsafePointer<Float>, argmax: UnsafePointer<Int32>,
        dInput: UnsafeMutablePointer<Float>)

    func depthwiseForward(
        _ shape: DepthwiseConv2DShape, input: UnsafePointer<Float>, packed: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>)
    func depthwiseBackwardInput(
        _ shape: DepthwiseConv2DShape, dOutput: UnsafePointer<Float>, packed: UnsafePointer<Float>,
        dInput: UnsafeMutablePointer<Float>)
    func depthwiseBackwardWeights(
        _ shape: DepthwiseConv2DShape, input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
        dPacked: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>)
}
