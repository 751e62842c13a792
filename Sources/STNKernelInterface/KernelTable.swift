/// The kernels' entry points for one instruction set, as function values: what a plan binds
/// once, when it is built, and its steps call through.
///
/// The kernels (`Sources/STNKernels`) are compiled once for each ISA the binary carries
/// (modules STNKernels, STNKernelsAVX2, STNKernelsAVX512: the same files, each with its own
/// -target-cpu), and each copy fills one table with its own functions (`kernelTable` in its
/// `KernelTableEntries.swift`, the same file in every copy), as ggml's CPU backend variants and
/// XNNPACK's config structs do. `KernelTable(isa)` (STNKernelSelection) picks the copy. A
/// kernel call is then one indirect call, with no switch and no conversion: the fields take
/// this module's types, which are compiled once and shared by every copy.
///
/// Function values carry no argument labels, so each field's type names its parameters in the
/// order a call passes them. Buffers are the kernels' (NHWC, channels padded to 8; see each
/// shape's type); nothing here allocates.
public struct KernelTable: Sendable {
    // MARK: GEMM

    /// C (m x n, rows `ldc` apart) = `start` + A (through `rows`) * B (through `reduction`);
    /// n is a multiple of 8 (`gemmAccumulate` in GEMM.swift).
    public typealias GEMM =
        @Sendable (
            _ m: Int, _ n: Int, _ a: UnsafePointer<Float>, _ rows: RowMap, _ b: UnsafePointer<Float>,
            _ reduction: Reduction, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ start: GEMMStart
        ) -> Void
    public let gemmAccumulate: GEMM

    // MARK: Convolution

    /// output = bias + input (*) weights (the direct packing `[K][outCp]`).
    public typealias Conv2DForward =
        @Sendable (
            _ shape: Conv2DShape, _ input: UnsafePointer<Float>, _ packed: UnsafePointer<Float>,
            _ bias: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>
        ) -> Void
    /// dPacked and dBias += the gradients of the weights and the bias.
    public typealias Conv2DBackwardWeights =
        @Sendable (
            _ shape: Conv2DShape, _ input: UnsafePointer<Float>, _ dOutput: UnsafePointer<Float>,
            _ dPacked: UnsafeMutablePointer<Float>, _ dBias: UnsafeMutablePointer<Float>
        ) -> Void
    /// dInput (overwritten) from dOutput and the transposed packing; `scratch` holds positions x Kp.
    public typealias Conv2DBackwardInput =
        @Sendable (
            _ shape: Conv2DShape, _ dOutput: UnsafePointer<Float>, _ packedT: UnsafePointer<Float>,
            _ scratch: UnsafeMutablePointer<Float>, _ dInput: UnsafeMutablePointer<Float>
        ) -> Void
    public let conv2DForward: Conv2DForward
    public let conv2DBackwardWeights: Conv2DBackwardWeights
    public let conv2DBackwardInput: Conv2DBackwardInput

    /// The direct packing `[K][outCp]` -> the transformed weights U.
    public typealias WinogradTransformWeights =
        @Sendable (
            _ conv: WinogradConv2D, _ packed: UnsafePointer<Float>, _ u: UnsafeMutablePointer<Float>
        ) -> Void
    /// output = bias + input (*) weights; `scratch` holds `conv.scratchFloats`.
    public typealias WinogradForward =
        @Sendable (
            _ conv: WinogradConv2D, _ input: UnsafePointer<Float>, _ u: UnsafePointer<Float>,
            _ bias: UnsafePointer<Float>, _ scratch: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>
        ) -> Void
    /// dU and dBias += the gradients; dInput, if given, overwritten; `scratch` holds
    /// `conv.backwardScratchFloats`.
    public typealias WinogradBackward =
        @Sendable (
            _ conv: WinogradConv2D, _ input: UnsafePointer<Float>, _ dOutput: UnsafePointer<Float>,
            _ uT: UnsafePointer<Float>, _ scratch: UnsafeMutablePointer<Float>, _ dU: UnsafeMutablePointer<Float>,
            _ dBias: UnsafeMutablePointer<Float>, _ dInput: UnsafeMutablePointer<Float>?
        ) -> Void
    public let winogradTransformWeights: WinogradTransformWeights
    public let winogradForward: WinogradForward
    public let winogradBackward: WinogradBackward

    /// The same three for a one-channel layer split into 3 x 3 pieces.
    public typealias SplitWinogradTransformWeights =
        @Sendable (
            _ conv: SplitWinogradConv2D, _ packed: UnsafePointer<Float>, _ u: UnsafeMutablePointer<Float>
        ) -> Void
    public typealias SplitWinogradForward =
        @Sendable (
            _ conv: SplitWinogradConv2D, _ input: UnsafePointer<Float>, _ u: UnsafePointer<Float>,
            _ bias: UnsafePointer<Float>, _ scratch: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>
        ) -> Void
    public typealias SplitWinogradBackward =
        @Sendable (
            _ conv: SplitWinogradConv2D, _ input: UnsafePointer<Float>, _ dOutput: UnsafePointer<Float>,
            _ uT: UnsafePointer<Float>, _ scratch: UnsafeMutablePointer<Float>, _ dU: UnsafeMutablePointer<Float>,
            _ dBias: UnsafeMutablePointer<Float>, _ dInput: UnsafeMutablePointer<Float>?
        ) -> Void
    public let splitWinogradTransformWeights: SplitWinogradTransformWeights
    public let splitWinogradForward: SplitWinogradForward
    public let splitWinogradBackward: SplitWinogradBackward

    /// output = bias + the depthwise convolution of input.
    public typealias DepthwiseForward =
        @Sendable (
            _ shape: DepthwiseConv2DShape, _ input: UnsafePointer<Float>, _ packed: UnsafePointer<Float>,
            _ bias: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>
        ) -> Void
    /// dInput (overwritten) from dOutput.
    public typealias DepthwiseBackwardInput =
        @Sendable (
            _ shape: DepthwiseConv2DShape, _ dOutput: UnsafePointer<Float>, _ packed: UnsafePointer<Float>,
            _ dInput: UnsafeMutablePointer<Float>
        ) -> Void
    /// dPacked and dBias += the gradients of the weights and the bias.
    public typealias DepthwiseBackwardWeights =
        @Sendable (
            _ shape: DepthwiseConv2DShape, _ input: UnsafePointer<Float>, _ dOutput: UnsafePointer<Float>,
            _ dPacked: UnsafeMutablePointer<Float>, _ dBias: UnsafeMutablePointer<Float>
        ) -> Void
    public let depthwiseForward: DepthwiseForward
    public let depthwiseBackwardInput: DepthwiseBackwardInput
    public let depthwiseBackwardWeights: DepthwiseBackwardWeights

    // MARK: Linear

    /// output = bias + W input (`packed` `[inputs][outputsP]`).
    public typealias LinearForward =
        @Sendable (
            _ shape: LinearShape, _ input: UnsafePointer<Float>, _ packed: UnsafePointer<Float>,
            _ bias: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>
        ) -> Void
    /// dPacked += input dOutput^T; dBias += dOutput.
    public typealias LinearBackwardWeights =
        @Sendable (
            _ shape: LinearShape, _ input: UnsafePointer<Float>, _ dOutput: UnsafePointer<Float>,
            _ dPacked: UnsafeMutablePointer<Float>, _ dBias: UnsafeMutablePointer<Float>
        ) -> Void
    /// dInput (overwritten) = W^T dOutput.
    public typealias LinearBackwardInput =
        @Sendable (
            _ shape: LinearShape, _ dOutput: UnsafePointer<Float>, _ packedT: UnsafePointer<Float>,
            _ dInput: UnsafeMutablePointer<Float>
        ) -> Void
    public let linearForward: LinearForward
    public let linearBackwardWeights: LinearBackwardWeights
    public let linearBackwardInput: LinearBackwardInput

    // MARK: Pooling

    /// The 2 x 2, stride-2 max pool and its ReLU in one pass; `argmax`, if given, receives
    /// each maximum's input index.
    public typealias PoolReLUForward =
        @Sendable (
            _ shape: PoolReLUShape, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
            _ argmax: UnsafeMutablePointer<Int32>?
        ) -> Void
    /// dInput (overwritten): each output's gradient to its maximum, where the ReLU passed it.
    public typealias PoolReLUBackward =
        @Sendable (
            _ shape: PoolReLUShape, _ dOutput: UnsafePointer<Float>, _ output: UnsafePointer<Float>,
            _ argmax: UnsafePointer<Int32>, _ dInput: UnsafeMutablePointer<Float>
        ) -> Void
    public let poolReLUForward: PoolReLUForward
    public let poolReLUBackward: PoolReLUBackward

    /// The maximum of each window; `argmax`, if given, receives each maximum's input index.
    public typealias MaxPoolForward =
        @Sendable (
            _ shape: PoolShape, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
            _ argmax: UnsafeMutablePointer<Int32>?
        ) -> Void
    /// dInput (overwritten): each output's gradient to its maximum.
    public typealias MaxPoolBackward =
        @Sendable (
            _ shape: PoolShape, _ dOutput: UnsafePointer<Float>, _ argmax: UnsafePointer<Int32>,
            _ dInput: UnsafeMutablePointer<Float>
        ) -> Void
    /// The mean of each window.
    public typealias AveragePoolForward =
        @Sendable (
            _ shape: PoolShape, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>
        ) -> Void
    /// dInput (overwritten): each output's gradient spread over its window.
    public typealias AveragePoolBackward =
        @Sendable (
            _ shape: PoolShape, _ dOutput: UnsafePointer<Float>, _ dInput: UnsafeMutablePointer<Float>
        ) -> Void
    public let maxPoolForward: MaxPoolForward
    public let maxPoolBackward: MaxPoolBackward
    public let averagePoolForward: AveragePoolForward
    public let averagePoolBackward: AveragePoolBackward

    /// Each channel's mean over the map.
    public typealias GlobalAveragePoolForward =
        @Sendable (
            _ shape: GlobalPoolShape, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>
        ) -> Void
    /// dInput (overwritten) from the means' gradient.
    public typealias GlobalAveragePoolBackward =
        @Sendable (
            _ shape: GlobalPoolShape, _ dOutput: UnsafePointer<Float>, _ dInput: UnsafeMutablePointer<Float>
        ) -> Void
    /// Each channel's maximum over the map; `argmax`, if given, receives its input index.
    public typealias GlobalMaxPoolForward =
        @Sendable (
            _ shape: GlobalPoolShape, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
            _ argmax: UnsafeMutablePointer<Int32>?
        ) -> Void
    /// dInput (overwritten): each channel's gradient to its maximum.
    public typealias GlobalMaxPoolBackward =
        @Sendable (
            _ shape: GlobalPoolShape, _ dOutput: UnsafePointer<Float>, _ argmax: UnsafePointer<Int32>,
            _ dInput: UnsafeMutablePointer<Float>
        ) -> Void
    public let globalAveragePoolForward: GlobalAveragePoolForward
    public let globalAveragePoolBackward: GlobalAveragePoolBackward
    public let globalMaxPoolForward: GlobalMaxPoolForward
    public let globalMaxPoolBackward: GlobalMaxPoolBackward

    // MARK: Elementwise

    /// output = f(input) on the first `channels` lanes of each pixel's `stride`, 0 in the rest.
    public typealias ActivationForward =
        @Sendable (
            _ kind: ActivationKind, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
            _ pixels: Int, _ channels: Int, _ stride: Int
        ) -> Void
    /// dInput (overwritten) = f'(input) dOutput, from the input and the forward output.
    public typealias ActivationBackward =
        @Sendable (
            _ kind: ActivationKind, _ input: UnsafePointer<Float>, _ output: UnsafePointer<Float>,
            _ dOutput: UnsafePointer<Float>, _ dInput: UnsafeMutablePointer<Float>, _ pixels: Int, _ channels: Int,
            _ stride: Int
        ) -> Void
    /// PReLU with one slope (`sharedSlope`) or one per lane.
    public typealias PReLUForward =
        @Sendable (
            _ input: UnsafePointer<Float>, _ slopes: UnsafePointer<Float>, _ sharedSlope: Bool,
            _ output: UnsafeMutablePointer<Float>, _ pixels: Int, _ stride: Int
        ) -> Void
    /// dInput (overwritten, if given) and dSlopes (added to).
    public typealias PReLUBackward =
        @Sendable (
            _ input: UnsafePointer<Float>, _ slopes: UnsafePointer<Float>, _ sharedSlope: Bool,
            _ dOutput: UnsafePointer<Float>, _ dInput: UnsafeMutablePointer<Float>?,
            _ dSlopes: UnsafeMutablePointer<Float>, _ pixels: Int, _ stride: Int
        ) -> Void
    /// output = input * scale[c] + shift[c] (a batch norm at inference).
    public typealias ChannelAffineForward =
        @Sendable (
            _ input: UnsafePointer<Float>, _ scale: UnsafePointer<Float>, _ shift: UnsafePointer<Float>,
            _ output: UnsafeMutablePointer<Float>, _ pixels: Int, _ stride: Int
        ) -> Void
    /// output = a + b over `count` floats (rounded up to 8).
    public typealias Add =
        @Sendable (
            _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ count: Int
        ) -> Void
    public let activationForward: ActivationForward
    public let activationBackward: ActivationBackward
    public let preluForward: PReLUForward
    public let preluBackward: PReLUBackward
    public let channelAffineForward: ChannelAffineForward
    public let add: Add

    // MARK: Spatial transformer

    /// Bilinear `F.interpolate` of an `inH x inW` image, `stride` lanes per pixel, to `outH x outW`.
    public typealias Resize =
        @Sendable (
            _ input: UnsafePointer<Float>, _ inH: Int, _ inW: Int, _ stride: Int, _ outH: Int, _ outW: Int,
            _ stepH: Float, _ stepW: Float, _ alignCorners: Bool, _ output: UnsafeMutablePointer<Float>
        ) -> Void
    /// dInput (overwritten) of `resize` from dOutput.
    public typealias ResizeBackward =
        @Sendable (
            _ dOutput: UnsafePointer<Float>, _ inH: Int, _ inW: Int, _ stride: Int, _ outH: Int, _ outW: Int,
            _ stepH: Float, _ stepW: Float, _ alignCorners: Bool, _ dInput: UnsafeMutablePointer<Float>
        ) -> Void
    /// A transform's parameters to its height x width x 2 sampling grid.
    public typealias TransformGridForward =
        @Sendable (
            _ generator: TransformGrid, _ theta: UnsafePointer<Float>, _ grid: UnsafeMutablePointer<Float>
        ) -> Void
    /// dTheta (`generator.parameterCount` floats, overwritten) from dGrid.
    public typealias TransformGridBackward =
        @Sendable (
            _ generator: TransformGrid, _ theta: UnsafePointer<Float>, _ dGrid: UnsafePointer<Float>,
            _ dTheta: UnsafeMutablePointer<Float>
        ) -> Void
    /// `F.grid_sample` of a `height x width` image, `stride` lanes per pixel, at `count` grid points.
    public typealias Sample =
        @Sendable (
            _ input: UnsafePointer<Float>, _ height: Int, _ width: Int, _ stride: Int, _ grid: UnsafePointer<Float>,
            _ count: Int, _ options: SamplerOptions, _ output: UnsafeMutablePointer<Float>
        ) -> Void
    /// dGrid (overwritten) and, if given, dInput (overwritten) of `sample`.
    public typealias SampleBackward =
        @Sendable (
            _ input: UnsafePointer<Float>, _ height: Int, _ width: Int, _ stride: Int, _ grid: UnsafePointer<Float>,
            _ count: Int, _ options: SamplerOptions, _ dOutput: UnsafePointer<Float>,
            _ dGrid: UnsafeMutablePointer<Float>, _ dInput: UnsafeMutablePointer<Float>?
        ) -> Void
    public let resize: Resize
    public let resizeBackward: ResizeBackward
    public let transformGridForward: TransformGridForward
    public let transformGridBackward: TransformGridBackward
    public let sample: Sample
    public let sampleBackward: SampleBackward

    public init(
        gemmAccumulate: @escaping GEMM,
        conv2DForward: @escaping Conv2DForward, conv2DBackwardWeights: @escaping Conv2DBackwardWeights,
        conv2DBackwardInput: @escaping Conv2DBackwardInput,
        winogradTransformWeights: @escaping WinogradTransformWeights, winogradForward: @escaping WinogradForward,
        winogradBackward: @escaping WinogradBackward,
        splitWinogradTransformWeights: @escaping SplitWinogradTransformWeights,
        splitWinogradForward: @escaping SplitWinogradForward, splitWinogradBackward: @escaping SplitWinogradBackward,
        depthwiseForward: @escaping DepthwiseForward, depthwiseBackwardInput: @escaping DepthwiseBackwardInput,
        depthwiseBackwardWeights: @escaping DepthwiseBackwardWeights,
        linearForward: @escaping LinearForward, linearBackwardWeights: @escaping LinearBackwardWeights,
        linearBackwardInput: @escaping LinearBackwardInput,
        poolReLUForward: @escaping PoolReLUForward, poolReLUBackward: @escaping PoolReLUBackward,
        maxPoolForward: @escaping MaxPoolForward, maxPoolBackward: @escaping MaxPoolBackward,
        averagePoolForward: @escaping AveragePoolForward, averagePoolBackward: @escaping AveragePoolBackward,
        globalAveragePoolForward: @escaping GlobalAveragePoolForward,
        globalAveragePoolBackward: @escaping GlobalAveragePoolBackward,
        globalMaxPoolForward: @escaping GlobalMaxPoolForward, globalMaxPoolBackward: @escaping GlobalMaxPoolBackward,
        activationForward: @escaping ActivationForward, activationBackward: @escaping ActivationBackward,
        preluForward: @escaping PReLUForward, preluBackward: @escaping PReLUBackward,
        channelAffineForward: @escaping ChannelAffineForward, add: @escaping Add,
        resize: @escaping Resize, resizeBackward: @escaping ResizeBackward,
        transformGridForward: @escaping TransformGridForward, transformGridBackward: @escaping TransformGridBackward,
        sample: @escaping Sample, sampleBackward: @escaping SampleBackward
    ) {
        self.gemmAccumulate = gemmAccumulate
        self.conv2DForward = conv2DForward
        self.conv2DBackwardWeights = conv2DBackwardWeights
        self.conv2DBackwardInput = conv2DBackwardInput
        self.winogradTransformWeights = winogradTransformWeights
        self.winogradForward = winogradForward
        self.winogradBackward = winogradBackward
        self.splitWinogradTransformWeights = splitWinogradTransformWeights
        self.splitWinogradForward = splitWinogradForward
        self.splitWinogradBackward = splitWinogradBackward
        self.depthwiseForward = depthwiseForward
        self.depthwiseBackwardInput = depthwiseBackwardInput
        self.depthwiseBackwardWeights = depthwiseBackwardWeights
        self.linearForward = linearForward
        self.linearBackwardWeights = linearBackwardWeights
        self.linearBackwardInput = linearBackwardInput
        self.poolReLUForward = poolReLUForward
        self.poolReLUBackward = poolReLUBackward
        self.maxPoolForward = maxPoolForward
        self.maxPoolBackward = maxPoolBackward
        self.averagePoolForward = averagePoolForward
        self.averagePoolBackward = averagePoolBackward
        self.globalAveragePoolForward = globalAveragePoolForward
        self.globalAveragePoolBackward = globalAveragePoolBackward
        self.globalMaxPoolForward = globalMaxPoolForward
        self.globalMaxPoolBackward = globalMaxPoolBackward
        self.activationForward = activationForward
        self.activationBackward = activationBackward
        self.preluForward = preluForward
        self.preluBackward = preluBackward
        self.channelAffineForward = channelAffineForward
        self.add = add
        self.resize = resize
        self.resizeBackward = resizeBackward
        self.transformGridForward = transformGridForward
        self.transformGridBackward = transformGridBackward
        self.sample = sample
        self.sampleBackward = sampleBackward
    }
}
