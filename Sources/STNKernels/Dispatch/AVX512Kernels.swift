#if STN_DISPATCH
    internal import STNKernelsAVX512

    /// The kernels compiled for AVX-512 (module STNKernelsAVX512, -target-cpu skylake-avx512).
    struct AVX512Kernels: ISAKernels {
        func gemmAccumulate(
            m: Int, n: Int, a: UnsafePointer<Float>, rows: RowMap, b: UnsafePointer<Float>, reduction: Reduction,
            c: UnsafeMutablePointer<Float>, ldc: Int, start: GEMMStart
        ) {
            STNKernelsAVX512.gemmAccumulate(
                m: m, n: n, a: a, rows: .init(rows), b: b, reduction: .init(reduction), c: c, ldc: ldc,
                start: .init(start))
        }

        func conv2DForward(
            _ shape: Conv2DShape, input: UnsafePointer<Float>, packed: UnsafePointer<Float>,
            bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.Conv2DShape(shape).forward(input: input, packed: packed, bias: bias, output: output)
        }

        func conv2DBackwardWeights(
            _ shape: Conv2DShape, input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
            dPacked: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.Conv2DShape(shape).backwardWeights(
                input: input, dOutput: dOutput, dPacked: dPacked, dBias: dBias)
        }

        func conv2DBackwardInput(
            _ shape: Conv2DShape, dOutput: UnsafePointer<Float>, packedT: UnsafePointer<Float>,
            scratch: UnsafeMutablePointer<Float>, dInput: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.Conv2DShape(shape).backwardInput(
                dOutput: dOutput, packedT: packedT, scratch: scratch, dInput: dInput)
        }

        func winogradForward(
            _ conv: WinogradConv2D, input: UnsafePointer<Float>, u: UnsafePointer<Float>, bias: UnsafePointer<Float>,
            scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.WinogradConv2D(conv).forward(
                input: input, u: u, bias: bias, scratch: scratch, output: output)
        }

        func winogradTransformWeights(
            _ conv: WinogradConv2D, packed: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.WinogradConv2D(conv).transformWeights(packed: packed, into: u)
        }

        func splitWinogradTransformWeights(
            _ conv: SplitWinogradConv2D, packed: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.SplitWinogradConv2D(conv).transformWeights(packed: packed, into: u)
        }

        func splitWinogradForward(
            _ conv: SplitWinogradConv2D, input: UnsafePointer<Float>, u: UnsafePointer<Float>,
            bias: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.SplitWinogradConv2D(conv).forward(
                input: input, u: u, bias: bias, scratch: scratch, output: output)
        }

        func splitWinogradBackward(
            _ conv: SplitWinogradConv2D, input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
            uT: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, dU: UnsafeMutablePointer<Float>,
            dBias: UnsafeMutablePointer<Float>, dInput: UnsafeMutablePointer<Float>?
        ) {
            STNKernelsAVX512.SplitWinogradConv2D(conv).backward(
                input: input, dOutput: dOutput, uT: uT, scratch: scratch, dU: dU, dBias: dBias, dInput: dInput)
        }

        func winogradBackward(
            _ conv: WinogradConv2D, input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
            uT: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, dU: UnsafeMutablePointer<Float>,
            dBias: UnsafeMutablePointer<Float>, dInput: UnsafeMutablePointer<Float>?
        ) {
            STNKernelsAVX512.WinogradConv2D(conv).backward(
                input: input, dOutput: dOutput, uT: uT, scratch: scratch, dU: dU, dBias: dBias, dInput: dInput)
        }

        func linearForward(
            _ shape: LinearShape, input: UnsafePointer<Float>, packed: UnsafePointer<Float>,
            bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.LinearShape(shape).forward(input: input, packed: packed, bias: bias, output: output)
        }

        func linearBackwardWeights(
            _ shape: LinearShape, input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
            dPacked: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.LinearShape(shape).backwardWeights(
                input: input, dOutput: dOutput, dPacked: dPacked, dBias: dBias)
        }

        func linearBackwardInput(
            _ shape: LinearShape, dOutput: UnsafePointer<Float>, packedT: UnsafePointer<Float>,
            dInput: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.LinearShape(shape).backwardInput(dOutput: dOutput, packedT: packedT, dInput: dInput)
        }

        func poolReLUForward(
            _ shape: PoolReLUShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
            argmax: UnsafeMutablePointer<Int32>?
        ) {
            STNKernelsAVX512.PoolReLUShape(shape).forward(input: input, output: output, argmax: argmax)
        }

        func poolReLUBackward(
            _ shape: PoolReLUShape, dOutput: UnsafePointer<Float>, output: UnsafePointer<Float>,
            argmax: UnsafePointer<Int32>, dInput: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.PoolReLUShape(shape).backward(
                dOutput: dOutput, output: output, argmax: argmax, dInput: dInput)
        }

        func maxPoolForward(
            _ shape: PoolShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
            argmax: UnsafeMutablePointer<Int32>?
        ) {
            STNKernelsAVX512.PoolShape(shape).maxForward(input: input, output: output, argmax: argmax)
        }

        func maxPoolBackward(
            _ shape: PoolShape, dOutput: UnsafePointer<Float>, argmax: UnsafePointer<Int32>,
            dInput: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.PoolShape(shape).maxBackward(dOutput: dOutput, argmax: argmax, dInput: dInput)
        }

        func averagePoolForward(_ shape: PoolShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
            STNKernelsAVX512.PoolShape(shape).averageForward(input: input, output: output)
        }

        func averagePoolBackward(
            _ shape: PoolShape, dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.PoolShape(shape).averageBackward(dOutput: dOutput, dInput: dInput)
        }

        func resize(
            _ input: UnsafePointer<Float>, inH: Int, inW: Int, stride: Int, outH: Int, outW: Int, stepH: Float,
            stepW: Float, alignCorners: Bool, into output: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.Transformer.resize(
                input, inH: inH, inW: inW, stride: stride, outH: outH, outW: outW, stepH: stepH, stepW: stepW,
                alignCorners: alignCorners, into: output)
        }

        func resizeBackward(
            dOutput: UnsafePointer<Float>, inH: Int, inW: Int, stride: Int, outH: Int, outW: Int, stepH: Float,
            stepW: Float, alignCorners: Bool, dInput: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.Transformer.resizeBackward(
                dOutput: dOutput, inH: inH, inW: inW, stride: stride, outH: outH, outW: outW, stepH: stepH,
                stepW: stepW, alignCorners: alignCorners, dInput: dInput)
        }

        func affineGrid(
            theta: UnsafePointer<Float>, height: Int, width: Int, alignCorners: Bool,
            into grid: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.Transformer.affineGrid(
                theta: theta, height: height, width: width, alignCorners: alignCorners, into: grid)
        }

        func affineGridBackward(
            dGrid: UnsafePointer<Float>, height: Int, width: Int, alignCorners: Bool,
            dTheta: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.Transformer.affineGridBackward(
                dGrid: dGrid, height: height, width: width, alignCorners: alignCorners, dTheta: dTheta)
        }

        func sample(
            _ input: UnsafePointer<Float>, height: Int, width: Int, stride: Int, grid: UnsafePointer<Float>,
            count: Int, options: SamplerOptions, into output: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.Transformer.sample(
                input, height: height, width: width, stride: stride, grid: grid, count: count,
                options: .init(options), into: output)
        }

        func sampleBackward(
            _ input: UnsafePointer<Float>, height: Int, width: Int, stride: Int, grid: UnsafePointer<Float>,
            count: Int, options: SamplerOptions, dOutput: UnsafePointer<Float>, dGrid: UnsafeMutablePointer<Float>,
            dInput: UnsafeMutablePointer<Float>?
        ) {
            STNKernelsAVX512.Transformer.sampleBackward(
                input, height: height, width: width, stride: stride, grid: grid, count: count,
                options: .init(options), dOutput: dOutput, dGrid: dGrid, dInput: dInput)
        }

        func activationForward(
            _ kind: ActivationKind, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, pixels: Int,
            channels: Int, stride: Int
        ) {
            STNKernelsAVX512.Activation.forward(
                .init(kind), input: input, output: output, pixels: pixels, channels: channels, stride: stride)
        }

        func activationBackward(
            _ kind: ActivationKind, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
            dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>, pixels: Int, channels: Int,
            stride: Int
        ) {
            STNKernelsAVX512.Activation.backward(
                .init(kind), input: input, output: output, dOutput: dOutput, dInput: dInput, pixels: pixels,
                channels: channels, stride: stride)
        }

        func preluForward(
            input: UnsafePointer<Float>, slopes: UnsafePointer<Float>, sharedSlope: Bool,
            output: UnsafeMutablePointer<Float>, pixels: Int, stride: Int
        ) {
            STNKernelsAVX512.Activation.preluForward(
                input: input, slopes: slopes, sharedSlope: sharedSlope, output: output, pixels: pixels, stride: stride)
        }

        func preluBackward(
            input: UnsafePointer<Float>, slopes: UnsafePointer<Float>, sharedSlope: Bool,
            dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>?, dSlopes: UnsafeMutablePointer<Float>,
            pixels: Int, stride: Int
        ) {
            STNKernelsAVX512.Activation.preluBackward(
                input: input, slopes: slopes, sharedSlope: sharedSlope, dOutput: dOutput, dInput: dInput,
                dSlopes: dSlopes, pixels: pixels, stride: stride)
        }

        func globalAveragePoolForward(
            _ shape: GlobalPoolShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.GlobalPoolShape(shape).averageForward(input: input, output: output)
        }

        func globalAveragePoolBackward(
            _ shape: GlobalPoolShape, dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.GlobalPoolShape(shape).averageBackward(dOutput: dOutput, dInput: dInput)
        }

        func globalMaxPoolForward(
            _ shape: GlobalPoolShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
            argmax: UnsafeMutablePointer<Int32>?
        ) {
            STNKernelsAVX512.GlobalPoolShape(shape).maxForward(input: input, output: output, argmax: argmax)
        }

        func globalMaxPoolBackward(
            _ shape: GlobalPoolShape, dOutput: UnsafePointer<Float>, argmax: UnsafePointer<Int32>,
            dInput: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.GlobalPoolShape(shape).maxBackward(dOutput: dOutput, argmax: argmax, dInput: dInput)
        }

        func depthwiseForward(
            _ shape: DepthwiseConv2DShape, input: UnsafePointer<Float>, packed: UnsafePointer<Float>,
            bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.DepthwiseConv2DShape(shape).forward(
                input: input, packed: packed, bias: bias, output: output)
        }

        func depthwiseBackwardInput(
            _ shape: DepthwiseConv2DShape, dOutput: UnsafePointer<Float>, packed: UnsafePointer<Float>,
            dInput: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.DepthwiseConv2DShape(shape).backwardInput(dOutput: dOutput, packed: packed, dInput: dInput)
        }

        func depthwiseBackwardWeights(
            _ shape: DepthwiseConv2DShape, input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
            dPacked: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>
        ) {
            STNKernelsAVX512.DepthwiseConv2DShape(shape).backwardWeights(
                input: input, dOutput: dOutput, dPacked: dPacked, dBias: dBias)
        }
    }

    extension AVX512Kernels {
        func channelAffineForward(
            input: UnsafePointer<Float>, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
            output: UnsafeMutablePointer<Float>, pixels: Int, stride: Int
        ) {
            STNKernelsAVX512.ChannelAffine.forward(
                input: input, scale: scale, shift: shift, output: output, pixels: pixels, stride: stride)
        }

        func add(
            _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int
        ) {
            STNKernelsAVX512.ElementwiseSum.add(a, b, into: output, count: count)
        }
    }

    // The same shapes, as the AVX-512 module's types (plain values: converting allocates nothing).

    extension STNKernelsAVX512.RowMap {
        init(_ r: STNKernels.RowMap) { self.init(perLine: r.perLine, lineStride: r.lineStride, step: r.step) }
    }

    extension STNKernelsAVX512.GEMMStart {
        init(_ s: STNKernels.GEMMStart) {
            switch s {
            case .accumulate: self = .accumulate
            case .zero: self = .zero
            case .row(let r): self = .row(r)
            }
        }
    }

    extension STNKernelsAVX512.Reduction {
        init(_ r: STNKernels.Reduction) {
            self.init(
                n1: r.n1, n2: r.n2, aStride1: r.aStride1, aStride2: r.aStride2, bStride1: r.bStride1,
                bStride2: r.bStride2)
        }
    }

    extension STNKernelsAVX512.Conv2DShape {
        init(_ s: STNKernels.Conv2DShape) {
            self.init(
                inH: s.inH, inW: s.inW, inC: s.inC, outC: s.outC, kernelH: s.kernelH, kernelW: s.kernelW,
                strideH: s.strideH, strideW: s.strideW)
        }
    }

    extension STNKernelsAVX512.WinogradConv2D {
        init(_ w: STNKernels.WinogradConv2D) {
            let t = w.transform
            let i = t.input
            self.init(
                shape: .init(w.shape), realInC: w.realInC,
                transform: .init(
                    outputTile: t.outputTile, kernel: t.kernel, pairs: t.pairs, bT: t.bT, g: t.g, aT: t.aT,
                    input: .init(zero: i.zero, pair1: i.pair1, pair2: i.pair2, pair3: i.pair3, infinity: i.infinity),
                    outputPowers: t.outputPowers),
                tilesY: w.tilesY, tilesX: w.tilesX, tileRowsPerBlock: w.tileRowsPerBlock)
        }
    }

    extension STNKernelsAVX512.SplitWinogradConv2D {
        init(_ w: STNKernels.SplitWinogradConv2D) {
            let t = w.transform
            let i = t.input
            self.init(
                shape: .init(w.shape), pieces: w.pieces,
                transform: .init(
                    outputTile: t.outputTile, kernel: t.kernel, pairs: t.pairs, bT: t.bT, g: t.g, aT: t.aT,
                    input: .init(zero: i.zero, pair1: i.pair1, pair2: i.pair2, pair3: i.pair3, infinity: i.infinity),
                    outputPowers: t.outputPowers),
                tilesY: w.tilesY, tilesX: w.tilesX, gridY: w.gridY, gridX: w.gridX)
        }
    }

    extension STNKernelsAVX512.LinearShape {
        init(_ s: STNKernels.LinearShape) { self.init(inputs: s.inputs, outputs: s.outputs) }
    }

    extension STNKernelsAVX512.PoolReLUShape {
        init(_ s: STNKernels.PoolReLUShape) { self.init(inH: s.inH, inW: s.inW, channels: s.channels) }
    }

    extension STNKernelsAVX512.PoolShape {
        init(_ s: STNKernels.PoolShape) {
            self.init(
                inH: s.inH, inW: s.inW, channels: s.channels, kernelH: s.kernelH, kernelW: s.kernelW,
                strideH: s.strideH, strideW: s.strideW, padTop: s.padTop, padLeft: s.padLeft, outH: s.outH,
                outW: s.outW, countIncludePad: s.countIncludePad, padBottom: s.padBottom, padRight: s.padRight)
        }
    }

    extension STNKernelsAVX512.SamplerOptions {
        init(_ o: STNKernels.SamplerOptions) {
            self.init(nearest: o.nearest, border: o.border, alignCorners: o.alignCorners)
        }
    }

    extension STNKernelsAVX512.ActivationKind {
        init(_ k: STNKernels.ActivationKind) {
            switch k {
            case .leakyReLU(let slope): self = .leakyReLU(slope: slope)
            case .elu(let alpha): self = .elu(alpha: alpha)
            case .tanh: self = .tanh
            case .sigmoid: self = .sigmoid
            case .silu: self = .silu
            case .clip(let low, let high): self = .clip(min: low, max: high)
            case .hardSigmoid(let alpha, let beta): self = .hardSigmoid(alpha: alpha, beta: beta)
            case .hardSwish: self = .hardSwish
            case .gelu: self = .gelu
            }
        }
    }

    extension STNKernelsAVX512.GlobalPoolShape {
        init(_ s: STNKernels.GlobalPoolShape) { self.init(pixels: s.pixels, channels: s.channels) }
    }

    extension STNKernelsAVX512.DepthwiseConv2DShape {
        init(_ s: STNKernels.DepthwiseConv2DShape) {
            self.init(
                inH: s.inH, inW: s.inW, channels: s.channels, kernelH: s.kernelH, kernelW: s.kernelW,
                strideH: s.strideH, strideW: s.strideW, padTop: s.padTop, padLeft: s.padLeft, padBottom: s.padBottom,
                padRight: s.padRight, dilationH: s.dilationH, dilationW: s.dilationW)
        }
    }
#endif
