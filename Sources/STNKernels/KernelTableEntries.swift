import STNKernelInterface

/// This copy's kernels as the table a plan binds. The same file is compiled into every copy
/// (STNKernels, STNKernelsAVX2, STNKernelsAVX512), so the functions each entry names are that
/// copy's, compiled for its -target-cpu; `KernelTable(isa)` (STNKernelSelection) picks one.
public let kernelTable = KernelTable(
    gemmAccumulate: {
        gemmAccumulate(m: $0, n: $1, a: $2, rows: $3, b: $4, reduction: $5, c: $6, ldc: $7, start: $8)
    },
    conv2DForward: { $0.forward(input: $1, packed: $2, bias: $3, output: $4) },
    conv2DBackwardWeights: { $0.backwardWeights(input: $1, dOutput: $2, dPacked: $3, dBias: $4) },
    conv2DBackwardInput: { $0.backwardInput(dOutput: $1, packedT: $2, scratch: $3, dInput: $4) },
    winogradTransformWeights: { $0.transformWeights(packed: $1, into: $2) },
    winogradForward: { $0.forward(input: $1, u: $2, bias: $3, scratch: $4, output: $5) },
    winogradBackward: {
        $0.backward(input: $1, dOutput: $2, uT: $3, scratch: $4, dU: $5, dBias: $6, dInput: $7)
    },
    splitWinogradTransformWeights: { $0.transformWeights(packed: $1, into: $2) },
    splitWinogradForward: { $0.forward(input: $1, u: $2, bias: $3, scratch: $4, output: $5) },
    splitWinogradBackward: {
        $0.backward(input: $1, dOutput: $2, uT: $3, scratch: $4, dU: $5, dBias: $6, dInput: $7)
    },
    depthwiseForward: { $0.forward(input: $1, packed: $2, bias: $3, output: $4) },
    depthwiseBackwardInput: { $0.backwardInput(dOutput: $1, packed: $2, dInput: $3) },
    depthwiseBackwardWeights: { $0.backwardWeights(input: $1, dOutput: $2, dPacked: $3, dBias: $4) },
    linearForward: { $0.forward(input: $1, packed: $2, bias: $3, output: $4) },
    linearBackwardWeights: { $0.backwardWeights(input: $1, dOutput: $2, dPacked: $3, dBias: $4) },
    linearBackwardInput: { $0.backwardInput(dOutput: $1, packedT: $2, dInput: $3) },
    poolReLUForward: { $0.forward(input: $1, output: $2, argmax: $3) },
    poolReLUBackward: { $0.backward(dOutput: $1, output: $2, argmax: $3, dInput: $4) },
    maxPoolForward: { $0.maxForward(input: $1, output: $2, argmax: $3) },
    maxPoolBackward: { $0.maxBackward(dOutput: $1, argmax: $2, dInput: $3) },
    averagePoolForward: { $0.averageForward(input: $1, output: $2) },
    averagePoolBackward: { $0.averageBackward(dOutput: $1, dInput: $2) },
    globalAveragePoolForward: { $0.averageForward(input: $1, output: $2) },
    globalAveragePoolBackward: { $0.averageBackward(dOutput: $1, dInput: $2) },
    globalMaxPoolForward: { $0.maxForward(input: $1, output: $2, argmax: $3) },
    globalMaxPoolBackward: { $0.maxBackward(dOutput: $1, argmax: $2, dInput: $3) },
    activationForward: {
        Activation.forward($0, input: $1, output: $2, pixels: $3, channels: $4, stride: $5)
    },
    activationBackward: {
        Activation.backward(
            $0, input: $1, output: $2, dOutput: $3, dInput: $4, pixels: $5, channels: $6, stride: $7)
    },
    preluForward: {
        Activation.preluForward(input: $0, slopes: $1, sharedSlope: $2, output: $3, pixels: $4, stride: $5)
    },
    preluBackward: {
        Activation.preluBackward(
            input: $0, slopes: $1, sharedSlope: $2, dOutput: $3, dInput: $4, dSlopes: $5, pixels: $6,
            stride: $7)
    },
    channelAffineForward: {
        ChannelAffine.forward(input: $0, scale: $1, shift: $2, output: $3, pixels: $4, stride: $5)
    },
    add: { ElementwiseSum.add($0, $1, into: $2, count: $3) },
    resize: {
        Transformer.resize(
            $0, inH: $1, inW: $2, stride: $3, outH: $4, outW: $5, stepH: $6, stepW: $7, alignCorners: $8,
            into: $9)
    },
    resizeBackward: {
        Transformer.resizeBackward(
            dOutput: $0, inH: $1, inW: $2, stride: $3, outH: $4, outW: $5, stepH: $6, stepW: $7,
            alignCorners: $8, dInput: $9)
    },
    transformGridForward: { $0.forward(theta: $1, grid: $2) },
    transformGridBackward: { $0.backward(theta: $1, dGrid: $2, dTheta: $3) },
    sample: {
        Transformer.sample(
            $0, height: $1, width: $2, stride: $3, grid: $4, count: $5, options: $6, into: $7)
    },
    sampleBackward: {
        Transformer.sampleBackward(
            $0, height: $1, width: $2, stride: $3, grid: $4, count: $5, options: $6, dOutput: $7, dGrid: $8,
            dInput: $9)
    })
