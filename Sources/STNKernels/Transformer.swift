import STNKernelInterface

#if canImport(Glibc)
    import Glibc  // exp, log
#else
    import Darwin
#endif

/// The resize, affine grid and sampler kernels of `Transformer`, forward and backward.
extension Transformer {
    // MARK: Resize

    /// Where output pixel `d` reads along one axis: PyTorch's `area_pixel_compute_source_index`
    /// with the step from `area_pixel_compute_scale`.
    @inline(__always)
    static func sourceIndex(_ d: Int, step: Float, alignCorners: Bool) -> Float {
        if alignCorners { return step * Float(d) }
        return max(step * (Float(d) + 0.5) - 0.5, 0)
    }

    /// Bilinear `F.interpolate` of an `inH x inW` image to `outH x outW`, `stride` lanes per pixel.
    static func resize(
        _ input: UnsafePointer<Float>, inH: Int, inW: Int, stride: Int, outH: Int, outW: Int, stepH: Float,
        stepW: Float, alignCorners: Bool, into output: UnsafeMutablePointer<Float>
    ) {
        for y in 0 ..< outH {
            let (y0, y1, wy0, wy1) = taps(y, step: stepH, size: inH, alignCorners: alignCorners)
            for x in 0 ..< outW {
                let (x0, x1, wx0, wx1) = taps(x, step: stepW, size: inW, alignCorners: alignCorners)
                let p00 = input + (y0 * inW + x0) * stride
                let p01 = input + (y0 * inW + x1) * stride
                let p10 = input + (y1 * inW + x0) * stride
                let p11 = input + (y1 * inW + x1) * stride
                let o = output + (y * outW + x) * stride
                if stride == 1 {
                    o[0] = wy0 * (wx0 * p00[0] + wx1 * p01[0]) + wy1 * (wx0 * p10[0] + wx1 * p11[0])
                    continue
                }
                for c in 0 ..< stride {
                    // PyTorch's association: along x in each row, then along y.
                    let top = wx0 * p00[c] + wx1 * p01[c]
                    let bottom = wx0 * p10[c] + wx1 * p11[c]
                    o[c] = wy0 * top + wy1 * bottom
                }
            }
        }
    }

    /// dInput (overwritten) of `resize` from dOutput.
    static func resizeBackward(
        dOutput: UnsafePointer<Float>, inH: Int, inW: Int, stride: Int, outH: Int, outW: Int, stepH: Float,
        stepW: Float, alignCorners: Bool, dInput: UnsafeMutablePointer<Float>
    ) {
        dInput.initialize(repeating: 0, count: inH * inW * stride)
        for y in 0 ..< outH {
            let (y0, y1, wy0, wy1) = taps(y, step: stepH, size: inH, alignCorners: alignCorners)
            for x in 0 ..< outW {
                let (x0, x1, wx0, wx1) = taps(x, step: stepW, size: inW, alignCorners: alignCorners)
                let g = dOutput + (y * outW + x) * stride
                for c in 0 ..< stride {
                    dInput[(y0 * inW + x0) * stride + c] += wy0 * wx0 * g[c]
                    dInput[(y0 * inW + x1) * stride + c] += wy0 * wx1 * g[c]
                    dInput[(y1 * inW + x0) * stride + c] += wy1 * wx0 * g[c]
                    dInput[(y1 * inW + x1) * stride + c] += wy1 * wx1 * g[c]
                }
            }
        }
    }

    /// The two source pixels of output pixel `d` along one axis and their weights.
    @inline(__always)
    static func taps(_ d: Int, step: Float, size: Int, alignCorners: Bool) -> (Int, Int, Float, Float) {
        let source = sourceIndex(d, step: step, alignCorners: alignCorners)
        let i0 = min(Int(source), size - 1)
        let i1 = i0 + (i0 < size - 1 ? 1 : 0)
        let lambda1 = source - Float(i0)
        return (i0, i1, 1 - lambda1, lambda1)
    }

    // MARK: Affine grid

    /// grid[(y * width + x) * 2 + {0, 1}] = theta * (x_n, y_n, 1): where output pixel (x, y)
    /// samples the input, in normalised coordinates.
    static func affineGrid(
        theta t: UnsafePointer<Float>, height: Int, width: Int, alignCorners: Bool = false,
        into grid: UnsafeMutablePointer<Float>
    ) {
        for y in 0 ..< height {
            let yn = normalised(y, height, alignCorners: alignCorners)
            for x in 0 ..< width {
                let xn = normalised(x, width, alignCorners: alignCorners)
                grid[(y * width + x) * 2] = t[0] * xn + t[1] * yn + t[2]
                grid[(y * width + x) * 2 + 1] = t[3] * xn + t[4] * yn + t[5]
            }
        }
    }

    /// dTheta (6, overwritten) from dGrid.
    static func affineGridBackward(
        dGrid: UnsafePointer<Float>, height: Int, width: Int, alignCorners: Bool = false,
        dTheta: UnsafeMutablePointer<Float>
    ) {
        // Accumulated in Double: thousands of terms of mixed sign.
        var d0 = 0.0
        var d1 = 0.0
        var d2 = 0.0
        var d3 = 0.0
        var d4 = 0.0
        var d5 = 0.0
        for y in 0 ..< height {
            let yn = Double(normalised(y, height, alignCorners: alignCorners))
            for x in 0 ..< width {
                let xn = Double(normalised(x, width, alignCorners: alignCorners))
                let gx = Double(dGrid[(y * width + x) * 2])
                let gy = Double(dGrid[(y * width + x) * 2 + 1])
                d0 += gx * xn
                d1 += gx * yn
                d2 += gx
                d3 += gy * xn
                d4 += gy * yn
                d5 += gy
            }
        }
        dTheta[0] = Float(d0)
        dTheta[1] = Float(d1)
        dTheta[2] = Float(d2)
        dTheta[3] = Float(d3)
        dTheta[4] = Float(d4)
        dTheta[5] = Float(d5)
    }

    // MARK: Sampler

    /// A grid coordinate in pixels, and d pixel / d coordinate: ((g + 1) * size - 1) / 2 at
    /// align_corners=False, (g + 1) / 2 * (size - 1) at True; with border padding clipped to
    /// the image (where the derivative is zero). The result is finite and within
    /// [-2, size + 1] whatever `g` is, so the taps it names can be tested and never overflow.
    @inline(__always)
    static func pixelCoordinate(_ g: Float, size: Int, _ options: SamplerOptions) -> (Float, Float) {
        let n = Float(size)
        var p: Float
        var slope: Float
        if options.alignCorners {
            p = (g + 1) / 2 * (n - 1)
            slope = (n - 1) / 2
        } else {
            p = ((g + 1) * n - 1) / 2
            slope = n / 2
        }
        if options.border {
            if !(p > 0) {  // also NaN
                p = 0
                slope = 0
            } else if p >= n - 1 {
                p = n - 1
                slope = 0
            }
        }
        if !(p >= -2) {  // also NaN
            p = -2
        } else if p > n + 1 {
            p = n + 1
        }
        return (p, slope)
    }

    /// Where grid point i samples: the top-left pixel of its 2x2 neighbourhood, the
    /// fractional offsets, and the chain factors d pixel / d grid.
    @inline(__always)
    static func sourcePixel(
        _ grid: UnsafePointer<Float>, _ i: Int, height: Int, width: Int, _ options: SamplerOptions
    ) -> (x0: Int, y0: Int, fx: Float, fy: Float, slopeX: Float, slopeY: Float) {
        let (ix, slopeX) = pixelCoordinate(grid[2 * i], size: width, options)
        let (iy, slopeY) = pixelCoordinate(grid[2 * i + 1], size: height, options)
        let x0 = ix.rounded(.down)
        let y0 = iy.rounded(.down)
        return (Int(x0), Int(y0), ix - x0, iy - y0, slopeX, slopeY)
    }

    /// Nearest-neighbour tap of grid point i (PyTorch rounds half to even).
    @inline(__always)
    static func nearestPixel(_ grid: UnsafePointer<Float>, _ i: Int, height: Int, width: Int, _ options: SamplerOptions)
        -> (Int, Int)
    {
        let ix = pixelCoordinate(grid[2 * i], size: width, options).0
        let iy = pixelCoordinate(grid[2 * i + 1], size: height, options).0
        return (Int(ix.rounded(.toNearestOrEven)), Int(iy.rounded(.toNearestOrEven)))
    }

    /// Samples an `height x width` image with `stride` lanes per pixel at `count` grid
    /// points: output pixel i reads the input at grid point i.
    static func sample(
        _ input: UnsafePointer<Float>, height: Int, width: Int, stride: Int = 1, grid: UnsafePointer<Float>,
        count: Int, options: SamplerOptions = SamplerOptions(), into output: UnsafeMutablePointer<Float>
    ) {
        @inline(__always)
        func inside(_ x: Int, _ y: Int) -> Bool { x >= 0 && x < width && y >= 0 && y < height }
        if options.nearest {
            for i in 0 ..< count {
                let (x, y) = nearestPixel(grid, i, height: height, width: width, options)
                let o = output + i * stride
                if inside(x, y) {
                    o.update(from: input + (y * width + x) * stride, count: stride)
                } else {
                    o.initialize(repeating: 0, count: stride)
                }
            }
            return
        }
        // Where a point's 2 x 2 neighbourhood lies inside the image, no tap needs a test.
        let lastX = Float(width - 1)
        let lastY = Float(height - 1)
        let plain = stride == 1 && !options.border && !options.alignCorners
        let halfWidth = Float(width)
        let halfHeight = Float(height)
        for i in 0 ..< count {
            if plain {
                let ix = ((grid[2 * i] + 1) * halfWidth - 1) / 2
                let iy = ((grid[2 * i + 1] + 1) * halfHeight - 1) / 2
                if ix >= 0 && ix < lastX && iy >= 0 && iy < lastY {  // false for NaN
                    let x0 = Int(ix)
                    let y0 = Int(iy)
                    let fx = ix - Float(x0)
                    let fy = iy - Float(y0)
                    let base = input + y0 * width + x0
                    var value: Float = 0
                    value += base[0] * ((1 - fx) * (1 - fy))
                    value += base[1] * (fx * (1 - fy))
                    value += base[width] * ((1 - fx) * fy)
                    value += base[width + 1] * (fx * fy)
                    output[i] = value
                    continue
                }
            }
            if stride > 1 && !options.border && !options.alignCorners {
                // Several channels, all four taps inside: no tests per channel, eight
                // channels at a time (the same operations in the same order as below).
                let ix = ((grid[2 * i] + 1) * halfWidth - 1) / 2
                let iy = ((grid[2 * i + 1] + 1) * halfHeight - 1) / 2
                if ix >= 0 && ix < lastX && iy >= 0 && iy < lastY {  // false for NaN
                    let x0 = Int(ix)
                    let y0 = Int(iy)
                    let fx = ix - Float(x0)
                    let fy = iy - Float(y0)
                    let w00 = (1 - fx) * (1 - fy)
                    let w10 = fx * (1 - fy)
                    let w01 = (1 - fx) * fy
                    let w11 = fx * fy
                    let b00 = input + (y0 * width + x0) * stride
                    let b10 = b00 + stride
                    let b01 = b00 + width * stride
                    let b11 = b01 + stride
                    let o = output + i * stride
                    var c = 0
                    while c + 8 <= stride {
                        var value = SIMD8<Float>(repeating: 0)
                        value += load8(b00 + c) * w00
                        value += load8(b10 + c) * w10
                        value += load8(b01 + c) * w01
                        value += load8(b11 + c) * w11
                        store8(value, o + c)
                        c += 8
                    }
                    while c < stride {
                        var value: Float = 0
                        value += b00[c] * w00
                        value += b10[c] * w10
                        value += b01[c] * w01
                        value += b11[c] * w11
                        o[c] = value
                        c += 1
                    }
                    continue
                }
            }
            let s = sourcePixel(grid, i, height: height, width: width, options)
            let (x0, y0, fx, fy) = (s.x0, s.y0, s.fx, s.fy)
            let w00 = (1 - fx) * (1 - fy)
            let w10 = fx * (1 - fy)
            let w01 = (1 - fx) * fy
            let w11 = fx * fy
            let in00 = inside(x0, y0)
            let in10 = inside(x0 + 1, y0)
            let in01 = inside(x0, y0 + 1)
            let in11 = inside(x0 + 1, y0 + 1)
            let base = input + (y0 * width + x0) * stride
            let o = output + i * stride
            if stride == 1 {
                // One channel (the usual image): no channel loop.
                var value: Float = 0
                if in00 { value += base[0] * w00 }
                if in10 { value += base[1] * w10 }
                if in01 { value += base[width] * w01 }
                if in11 { value += base[width + 1] * w11 }
                o[0] = value
                continue
            }
            for c in 0 ..< stride {
                var value: Float = 0
                if in00 { value += base[c] * w00 }
                if in10 { value += base[stride + c] * w10 }
                if in01 { value += base[width * stride + c] * w01 }
                if in11 { value += base[(width + 1) * stride + c] * w11 }
                o[c] = value
            }
        }
    }

    /// Gradients of `sample`: dGrid (overwritten, 2 per output pixel) and, if given, dInput
    /// (overwritten, height x width x stride).
    static func sampleBackward(
        _ input: UnsafePointer<Float>, height: Int, width: Int, stride: Int = 1, grid: UnsafePointer<Float>,
        count: Int, options: SamplerOptions = SamplerOptions(), dOutput: UnsafePointer<Float>,
        dGrid: UnsafeMutablePointer<Float>, dInput: UnsafeMutablePointer<Float>?
    ) {
        dInput?.initialize(repeating: 0, count: height * width * stride)
        @inline(__always)
        func inside(_ x: Int, _ y: Int) -> Bool { x >= 0 && x < width && y >= 0 && y < height }
        if options.nearest {
            for i in 0 ..< count {
                dGrid[2 * i] = 0
                dGrid[2 * i + 1] = 0
                let (x, y) = nearestPixel(grid, i, height: height, width: width, options)
                guard let dInput, inside(x, y) else { continue }
                for c in 0 ..< stride { dInput[(y * width + x) * stride + c] += dOutput[i * stride + c] }
            }
            return
        }
        for i in 0 ..< count {
            let s = sourcePixel(grid, i, height: height, width: width, options)
            let (x0, y0, fx, fy) = (s.x0, s.y0, s.fx, s.fy)
            let in00 = inside(x0, y0)
            let in10 = inside(x0 + 1, y0)
            let in01 = inside(x0, y0 + 1)
            let in11 = inside(x0 + 1, y0 + 1)
            let base = (y0 * width + x0) * stride
            var gx: Float = 0
            var gy: Float = 0
            for c in 0 ..< stride {
                let g = dOutput[i * stride + c]
                let v00 = in00 ? input[base + c] : 0
                let v10 = in10 ? input[base + stride + c] : 0
                let v01 = in01 ? input[base + width * stride + c] : 0
                let v11 = in11 ? input[base + (width + 1) * stride + c] : 0
                // d value / d ix and d iy, then the chain through the unnormalisation.
                let dix = (v10 - v00) * (1 - fy) + (v11 - v01) * fy
                let diy = (v01 - v00) * (1 - fx) + (v11 - v10) * fx
                gx += g * dix
                gy += g * diy
                if let dInput {
                    if in00 { dInput[base + c] += g * ((1 - fx) * (1 - fy)) }
                    if in10 { dInput[base + stride + c] += g * (fx * (1 - fy)) }
                    if in01 { dInput[base + width * stride + c] += g * ((1 - fx) * fy) }
                    if in11 { dInput[base + (width + 1) * stride + c] += g * (fx * fy) }
                }
            }
            dGrid[2 * i] = gx * s.slopeX
            dGrid[2 * i + 1] = gy * s.slopeY
        }
    }
}
