import STNKernelInterface

/// The direct convolution (`Conv2DShape`), forward and backward, as GEMMs over the NHWC
/// image without materialising im2col.
extension Conv2DShape {
    // MARK: Forward

    /// output = bias + input (*) weights. `bias` has outCp entries.
    func forward(
        input: UnsafePointer<Float>, packed: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        // Output row i = (y, x) reads the patch whose top-left input pixel is (y * strideH,
        // x * strideW); patch row ky is contiguous in NHWC (kernelW * inC floats). Every row
        // starts from the bias.
        gemmAccumulate(
            m: positions, n: outCp, a: input,
            rows: RowMap(perLine: outW, lineStride: strideH * inW * inC, step: strideW * inC),
            b: packed,
            reduction: Reduction(
                n1: kernelH, n2: kernelW * inC, aStride1: inW * inC, aStride2: 1,
                bStride1: kernelW * inC * outCp, bStride2: outCp),
            c: output, ldc: outCp, start: .row(bias))
    }

    // MARK: Backward

    /// dW[k][co] += sum over positions p of input[p + offset(k)] * dOutput[p][co], and
    /// dBias[co] += sum over p of dOutput[p][co].
    func backwardWeights(
        input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
        dPacked: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>
    ) {
        gemmAccumulate(
            m: k, n: outCp, a: input, rows: RowMap(perLine: kernelW * inC, lineStride: inW * inC, step: 1),
            b: dOutput,
            reduction: Reduction(
                n1: outH, n2: outW, aStride1: strideH * inW * inC, aStride2: strideW * inC,
                bStride1: outW * outCp, bStride2: outCp),
            c: dPacked, ldc: outCp)
        addChannelSums(dOutput, positions: positions, channels: outCp, into: dBias)
    }

    /// dInput (overwritten) from dOutput: G = dOutput * W^T per position (a GEMM), then each
    /// G[p][k] is added to the input pixel it came from (col2im). `scratch` holds
    /// positions x Kp floats.
    func backwardInput(
        dOutput: UnsafePointer<Float>, packedT: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, dInput: UnsafeMutablePointer<Float>
    ) {
        scratch.initialize(repeating: 0, count: positions * kp)
        gemmAccumulate(
            m: positions, n: kp, a: dOutput, rows: .linear(step: outCp), b: packedT,
            reduction: .contiguous(outCp, ldb: kp), c: scratch, ldc: kp)
        dInput.initialize(repeating: 0, count: inputCount)
        let rowLength = kernelW * inC
        for y in 0 ..< outH {
            for x in 0 ..< outW {
                let g = scratch + (y * outW + x) * kp
                let origin = dInput + (y * strideH * inW + x * strideW) * inC
                for ky in 0 ..< kernelH {
                    let target = origin + ky * inW * inC
                    let source = g + ky * rowLength
                    var j = 0
                    while j + 8 <= rowLength {
                        store8(load8(target + j) + load8(source + j), target + j)
                        j += 8
                    }
                    while j < rowLength {
                        target[j] += source[j]
                        j += 1
                    }
                }
            }
        }
    }
}

/// sums[c] += sum over positions p of values[p][c] (a bias gradient), eight channels at a
/// time; `channels` is a multiple of 8.
@inline(__always)
func addChannelSums(
    _ values: UnsafePointer<Float>, positions: Int, channels: Int, into sums: UnsafeMutablePointer<Float>
) {
    for p in 0 ..< positions {
        let row = values + p * channels
        var j = 0
        while j < channels {
            store8(load8(sums + j) + load8(row + j), sums + j)
            j += 8
        }
    }
}
