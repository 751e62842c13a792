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
    @inlinable public var outH: Int { (inH - kernelH) / strideH + 1 }
    @inlinable public var outW: Int { (inW - kernelW) / strideW + 1 }
    @inlinable public var positions: Int { outH * outW }
    @inlinable public var k: Int { kernelH * kernelW * inC }
    @inlinable public var kp: Int { roundUp8(k) }
    @inlinable public var inputCount: Int { inH * inW * inC }
    @inlinable public var outputCount: Int { positions * outCp }

    @inlinable
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
    @inlinable
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
}

/// n rounded up to a multiple of 8 (channel counts are padded to whole vectors).
@inlinable
public func roundUp8(_ n: Int) -> Int { (n + 7) & ~7 }
