import STNKernelInterface

/// Depthwise convolution (`DepthwiseConv2DShape`), forward and backward.
extension DepthwiseConv2DShape {
    // MARK: Windows

    /// The taps 0 ..< kernel whose input coordinate origin + tap * dilation lies in 0 ..< extent.
    @inline(__always)
    static func tapRange(origin: Int, extent: Int, dilation: Int, kernel: Int) -> (Int, Int) {
        if dilation == 1 {  // the usual case, without dividing
            return (max(0, -origin), max(max(0, -origin), min(kernel, extent - origin)))
        }
        let low = origin >= 0 ? 0 : (-origin + dilation - 1) / dilation
        let high = origin >= extent ? 0 : min(kernel, (extent - 1 - origin) / dilation + 1)
        return (low, max(low, high))
    }

    /// One output pixel's window: the offset of its (unclipped) top-left input pixel in
    /// floats, the taps inside the input, and whether that is all of them.
    struct Window {
        var origin: Int
        var ky0: Int, ky1: Int, kx0: Int, kx1: Int
        var whole: Bool
    }

    /// Calls `body` with each output pixel's index (in floats) and window, in order.
    @inline(__always)
    func forEachWindow(_ body: (Int, Window) -> Void) {
        let c = channels
        let w = outW
        for oy in 0 ..< outH {
            let iy = oy * strideH - padTop
            let (ky0, ky1) = Self.tapRange(origin: iy, extent: inH, dilation: dilationH, kernel: kernelH)
            for ox in 0 ..< w {
                let ix = ox * strideW - padLeft
                let (kx0, kx1) = Self.tapRange(origin: ix, extent: inW, dilation: dilationW, kernel: kernelW)
                let whole = ky0 == 0 && ky1 == kernelH && kx0 == 0 && kx1 == kernelW
                body(
                    (oy * w + ox) * c,
                    Window(origin: (iy * inW + ix) * c, ky0: ky0, ky1: ky1, kx0: kx0, kx1: kx1, whole: whole))
            }
        }
    }

    // MARK: Forward

    /// output = bias + the depthwise convolution of input; `bias` has `channels` floats.
    func forward(
        input: UnsafePointer<Float>, packed: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        precondition(channels % 8 == 0, "depthwise: channels must be a multiple of 8")
        let c = channels
        let rowStep = dilationH * inW * c
        let columnStep = dilationW * c
        let unrolled = kernelH == 3 && kernelW == 3
        @inline(__always) func pixel<V: FloatVector>(_: V.Type, _ j: Int, _ o: Int, _ window: Window) {
            var sum: V = load(bias + j)
            let origin = input + window.origin + j
            let weights = packed + j
            if unrolled && window.whole {
                let r1 = origin + rowStep
                let r2 = r1 + rowStep
                sum = vfma(load(origin), load(weights), sum)
                sum = vfma(load(origin + columnStep), load(weights + c), sum)
                sum = vfma(load(origin + 2 * columnStep), load(weights + 2 * c), sum)
                sum = vfma(load(r1), load(weights + 3 * c), sum)
                sum = vfma(load(r1 + columnStep), load(weights + 4 * c), sum)
                sum = vfma(load(r1 + 2 * columnStep), load(weights + 5 * c), sum)
                sum = vfma(load(r2), load(weights + 6 * c), sum)
                sum = vfma(load(r2 + columnStep), load(weights + 7 * c), sum)
                sum = vfma(load(r2 + 2 * columnStep), load(weights + 8 * c), sum)
            } else {
                for ky in window.ky0 ..< window.ky1 {
                    let row = origin + ky * rowStep
                    let weightRow = weights + ky * kernelW * c
                    for kx in window.kx0 ..< window.kx1 {
                        sum = vfma(load(row + kx * columnStep), load(weightRow + kx * c), sum)
                    }
                }
            }
            store(sum, output + o + j)
        }
        // A run of windows whole across (3 x 3 kernels) along an output row, their taps down
        // ky0 ..< ky1, one channel vector at a time with the weights in registers (the same
        // sums in the same order as `pixel`).
        @inline(__always) func run<V: FloatVector>(
            _: V.Type, _ j: Int, _ oy: Int, _ ky0: Int, _ ky1: Int, _ ox0: Int, _ ox1: Int
        ) {
            let weights = packed + j
            let w0: V = load(weights)
            let w1: V = load(weights + c)
            let w2: V = load(weights + 2 * c)
            let w3: V = load(weights + 3 * c)
            let w4: V = load(weights + 4 * c)
            let w5: V = load(weights + 5 * c)
            let w6: V = load(weights + 6 * c)
            let w7: V = load(weights + 7 * c)
            let w8: V = load(weights + 8 * c)
            let b: V = load(bias + j)
            let iy = oy * strideH - padTop
            let whole = ky0 == 0 && ky1 == 3
            for ox in ox0 ..< ox1 {
                let origin = input + (iy * inW + ox * strideW - padLeft) * c + j
                let r1 = origin + rowStep
                let r2 = r1 + rowStep
                var sum = b
                if whole || ky0 == 0 {
                    sum = vfma(load(origin), w0, sum)
                    sum = vfma(load(origin + columnStep), w1, sum)
                    sum = vfma(load(origin + 2 * columnStep), w2, sum)
                }
                if whole || (ky0 <= 1 && ky1 >= 2) {
                    sum = vfma(load(r1), w3, sum)
                    sum = vfma(load(r1 + columnStep), w4, sum)
                    sum = vfma(load(r1 + 2 * columnStep), w5, sum)
                }
                if whole || ky1 == 3 {
                    sum = vfma(load(r2), w6, sum)
                    sum = vfma(load(r2 + columnStep), w7, sum)
                    sum = vfma(load(r2 + 2 * columnStep), w8, sum)
                }
                store(sum, output + (oy * outW + ox) * c + j)
            }
        }
        // Per output row: the taps down are clipped once; the columns at the edges go pixel
        // by pixel, the run of windows whole across between them (3 x 3 kernels) by `run`.
        let (ox0, ox1) = unrolled ? wholeColumns : (0, 0)
        for oy in 0 ..< outH {
            let iy = oy * strideH - padTop
            let (ky0, ky1) = Self.tapRange(origin: iy, extent: inH, dilation: dilationH, kernel: kernelH)
            let wholeRows = ky0 == 0 && ky1 == kernelH
            let (runStart, runEnd) = ky0 < ky1 ? (ox0, ox1) : (0, 0)
            @inline(__always) func edge(_ ox: Int) {
                let ix = ox * strideW - padLeft
                let (kx0, kx1) = Self.tapRange(origin: ix, extent: inW, dilation: dilationW, kernel: kernelW)
                let window = Window(
                    origin: (iy * inW + ix) * c, ky0: ky0, ky1: ky1, kx0: kx0, kx1: kx1,
                    whole: wholeRows && kx0 == 0 && kx1 == kernelW)
                let o = (oy * outW + ox) * c
                forEachColumn(c, Lane.self) {
                    pixel(Lane.self, $0, o, window)
                } eight: {
                    pixel(SIMD8<Float>.self, $0, o, window)
                }
            }
            for ox in 0 ..< runStart { edge(ox) }
            if runStart < runEnd {
                forEachColumn(c, Lane.self) {
                    run(Lane.self, $0, oy, ky0, ky1, runStart, runEnd)
                } eight: {
                    run(SIMD8<Float>.self, $0, oy, ky0, ky1, runStart, runEnd)
                }
            }
            for ox in runEnd ..< outW { edge(ox) }
        }
    }

    /// The output columns ox0 ..< ox1 whose windows lie wholly inside the input across.
    var wholeColumns: (Int, Int) {
        let first = (padLeft + strideW - 1) / strideW
        let reach = inW - 1 - dilationW * (kernelW - 1) + padLeft
        guard reach >= 0 else { return (0, 0) }
        let last = min(outW - 1, reach / strideW)
        return last >= first ? (first, last + 1) : (0, 0)
    }

    // MARK: Backward

    /// dInput (overwritten): each output gradient times each tap's weight, added to the
    /// input pixel the tap read.
    func backwardInput(
        dOutput: UnsafePointer<Float>, packed: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>
    ) {
        precondition(channels % 8 == 0, "depthwise: channels must be a multiple of 8")
        dInput.initialize(repeating: 0, count: inputCount)
        let c = channels
        let rowStep = dilationH * inW * c
        let columnStep = dilationW * c
        let unrolled = kernelH == 3 && kernelW == 3
        @inline(__always) func pixel<V: FloatVector>(_: V.Type, _ j: Int, _ o: Int, _ window: Window) {
            let g: V = load(dOutput + o + j)
            let origin = dInput + window.origin + j
            let weights = packed + j
            @inline(__always) func add(_ at: UnsafeMutablePointer<Float>, _ tap: Int) {
                store(vfma(g, load(weights + tap * c), load(at)), at)
            }
            if unrolled && window.whole {
                let r1 = origin + rowStep
                let r2 = r1 + rowStep
                add(origin, 0)
                add(origin + columnStep, 1)
                add(origin + 2 * columnStep, 2)
                add(r1, 3)
                add(r1 + columnStep, 4)
                add(r1 + 2 * columnStep, 5)
                add(r2, 6)
                add(r2 + columnStep, 7)
                add(r2 + 2 * columnStep, 8)
            } else {
                for ky in window.ky0 ..< window.ky1 {
                    let row = origin + ky * rowStep
                    for kx in window.kx0 ..< window.kx1 { add(row + kx * columnStep, ky * kernelW + kx) }
                }
            }
        }
        forEachWindow { o, window in
            forEachColumn(c, Lane.self) {
                pixel(Lane.self, $0, o, window)
            } eight: {
                pixel(SIMD8<Float>.self, $0, o, window)
            }
        }
    }

    /// dPacked[tap][c] += the sum over output pixels of the input the tap read times the
    /// output gradient; dBias[c] += the sum of the output gradient.
    func backwardWeights(
        input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>, dPacked: UnsafeMutablePointer<Float>,
        dBias: UnsafeMutablePointer<Float>
    ) {
        precondition(channels % 8 == 0, "depthwise: channels must be a multiple of 8")
        let c = channels
        let rowStep = dilationH * inW * c
        let columnStep = dilationW * c
        let unrolled = kernelH == 3 && kernelW == 3
        @inline(__always) func pixel<V: FloatVector>(_: V.Type, _ j: Int, _ o: Int, _ window: Window) {
            let g: V = load(dOutput + o + j)
            store(load(dBias + j) + g, dBias + j)
            let origin = input + window.origin + j
            let gradients = dPacked + j
            @inline(__always) func add(_ at: UnsafePointer<Float>, _ tap: Int) {
                let target = gradients + tap * c
                store(vfma(g, load(at), load(target)), target)
            }
            if unrolled && window.whole {
                let r1 = origin + rowStep
                let r2 = r1 + rowStep
                add(origin, 0)
                add(origin + columnStep, 1)
                add(origin + 2 * columnStep, 2)
                add(r1, 3)
                add(r1 + columnStep, 4)
                add(r1 + 2 * columnStep, 5)
                add(r2, 6)
                add(r2 + columnStep, 7)
                add(r2 + 2 * columnStep, 8)
            } else {
                for ky in window.ky0 ..< window.ky1 {
                    let row = origin + ky * rowStep
                    for kx in window.kx0 ..< window.kx1 { add(row + kx * columnStep, ky * kernelW + kx) }
                }
            }
        }
        forEachWindow { o, window in
            forEachColumn(c, Lane.self) {
                pixel(Lane.self, $0, o, window)
            } eight: {
                pixel(SIMD8<Float>.self, $0, o, window)
            }
        }
    }
}
