/// A valid convolution (any kernel height x width and stride; padding is the caller's, by
/// a zero-bordered copy of the input) over one NHWC image, forward and backward.
///
/// Buffers: input `inH x inW x inC` (inC is the producer's padded channel count), output
/// `outH x outW x outCp` with `outCp` = out channels rounded up to 8. Weights are packed
/// once per step from PyTorch's `[out, in, kh, kw]`:
///   - `packed`   `[K][outCp]`, K = kernelH * kernelW * inC, row k = (ky, kx, ci): the
///                forward product and the weight gradient use it;
///   - `packedT`  `[outCp][Kp]`, Kp = K rounded up to 8: the input gradient uses it.
/// Padded channels have zero weights, so they stay zero through the network.
public struct Conv2DShape: Sendable, Equatable {
    public let inH: Int, inW: Int, inC: Int
    public let outC: Int, outCp: Int
    public let kernelH: Int, kernelW: Int
    public let strideH: Int, strideW: Int
    public var outH: Int { (inH - kernelH) / strideH + 1 }
    public var outW: Int { (inW - kernelW) / strideW + 1 }
    public var positions: Int { outH * outW }
    public var k: Int { kernelH * kernelW * inC }
    public var kp: Int { roundUp8(k) }
    public var inputCount: Int { inH * inW * inC }
    public var outputCount: Int { positions * outCp }

    public init(inH: Int, inW: Int, inC: Int, outC: Int, kernelH: Int, kernelW: Int, strideH: Int = 1, strideW: Int = 1)
    {
        self.inH = inH
        self.inW = inW
        self.inC = inC
        self.outC = outC
        outCp = roundUp8(outC)
        self.kernelH = kernelH
        self.kernelW = kernelW
        self.strideH = strideH
        self.strideW = strideW
    }

    /// A square kernel, stride 1.
    public init(inH: Int, inW: Int, inC: Int, outC: Int, kernel: Int) {
        self.init(inH: inH, inW: inW, inC: inC, outC: outC, kernelH: kernel, kernelW: kernel)
    }

    // MARK: Packing

    /// PyTorch weight `[outC][realInC][k][k]` -> `[K][outCp]`, zero padded.
    public func pack(torch w: UnsafePointer<Float>, realInC: Int, into packed: UnsafeMutablePointer<Float>) {
        packed.initialize(repeating: 0, count: k * outCp)
        // Written in order, row by row; the reads stride by one filter, and each filter's
        // cache line serves its next taps from L1 (on every model load, so at start-up).
        let filterFloats = realInC * kernelH * kernelW
        for ky in 0 ..< kernelH {
            for kx in 0 ..< kernelW {
                for ci in 0 ..< realInC {
                    let target = packed + ((ky * kernelW + kx) * inC + ci) * outCp
                    let source = w + (ci * kernelH + ky) * kernelW + kx
                    for co in 0 ..< outC { target[co] = source[co * filterFloats] }
                }
            }
        }
    }

    /// `[K][outCp]` -> `[outCp][Kp]` (the input gradient's layout).
    public func transpose(packed: UnsafePointer<Float>, into packedT: UnsafeMutablePointer<Float>) {
        packedT.initialize(repeating: 0, count: outCp * kp)
        for row in 0 ..< k {
            for co in 0 ..< outCp { packedT[co * kp + row] = packed[row * outCp + co] }
        }
    }

    /// A packed `[K][outCp]` gradient -> PyTorch `[outC][realInC][k][k]`, added to `torch`.
    public func unpackAdding(packed: UnsafePointer<Float>, realInC: Int, into w: UnsafeMutablePointer<Float>) {
        for co in 0 ..< outC {
            for ci in 0 ..< realInC {
                for ky in 0 ..< kernelH {
                    for kx in 0 ..< kernelW {
                        let row = (ky * kernelW + kx) * inC + ci
                        w[((co * realInC + ci) * kernelH + ky) * kernelW + kx] += packed[row * outCp + co]
                    }
                }
            }
        }
    }

    // MARK: Forward

    /// output = bias + input (*) weights. `bias` has outCp entries.
    public func forward(
        input: UnsafePointer<Float>, packed: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        #if STN_DISPATCH
            if let kernels = ISA.kernels {
                return kernels.conv2DForward(self, input: input, packed: packed, bias: bias, output: output)
            }
        #endif
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
    public func backwardWeights(
        input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
        dPacked: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>
    ) {
        #if STN_DISPATCH
            if let kernels = ISA.kernels {
                return kernels.conv2DBackwardWeights(
                    self, input: input, dOutput: dOutput, dPacked: dPacked, dBias: dBias)
            }
        #endif
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
    public func backwardInput(
        dOutput: UnsafePointer<Float>, packedT: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, dInput: UnsafeMutablePointer<Float>
    ) {
        #if STN_DISPATCH
            if let kernels = ISA.kernels {
                return kernels.conv2DBackwardInput(
                    self, dOutput: dOutput, packedT: packedT, scratch: scratch, dInput: dInput)
            }
        #endif
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

@inline(__always)
public func roundUp8(_ n: Int) -> Int { (n + 7) & ~7 }

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
