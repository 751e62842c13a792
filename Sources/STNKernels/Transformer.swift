#if canImport(Glibc)
    import Glibc  // exp, log
#else
    import Darwin
#endif

/// The spatial transformer's parameter-free stages, forward and backward, with PyTorch's
/// semantics at align_corners=False: the bilinear 2x downsample (`F.interpolate`), the
/// affine grid generator (`F.affine_grid`) and the bilinear sampler with zero padding
/// (`F.grid_sample`). Single-channel images, row-major.
public enum Transformer {
    /// `F.interpolate(scale_factor=0.5, mode='bilinear', align_corners=False,
    /// recompute_scale_factor=False)`: source coordinate (d + 0.5) * 2 - 0.5 = 2d + 0.5 lies
    /// halfway between pixels 2d and 2d + 1, so each output is the mean of a 2x2 block.
    public static func downsample(
        _ input: UnsafePointer<Float>, height: Int, width: Int, into output: UnsafeMutablePointer<Float>
    ) {
        let oh = height / 2
        let ow = width / 2
        for y in 0 ..< oh {
            let r0 = input + 2 * y * width
            let r1 = r0 + width
            for x in 0 ..< ow {
                // Same association as PyTorch: interpolate along x in each row, then along y.
                let top = 0.5 * r0[2 * x] + 0.5 * r0[2 * x + 1]
                let bottom = 0.5 * r1[2 * x] + 0.5 * r1[2 * x + 1]
                output[y * ow + x] = 0.5 * top + 0.5 * bottom
            }
        }
    }

    /// Normalised coordinate of pixel i of n at align_corners=False: (2i + 1) / n - 1,
    /// computed with PyTorch's float operations (`linspace(-1, 1, n) * (n - 1) / n`). The
    /// bilinear gradient has kinks at integer pixel positions, which the identity transform
    /// hits exactly, so the last bit decides which one-sided derivative a pixel gets.
    @inline(__always)
    public static func normalised(_ i: Int, _ n: Int) -> Float {
        guard n > 1 else { return 0 }
        let step = Float(2) / Float(n - 1)
        let linspace = i < n / 2 ? -1 + step * Float(i) : 1 - step * Float(n - 1 - i)
        return linspace * Float(n - 1) / Float(n)
    }

    /// grid[(y * width + x) * 2 + {0, 1}] = theta * (x_n, y_n, 1): where output pixel (x, y)
    /// samples the input, in normalised coordinates.
    public static func affineGrid(
        theta t: UnsafePointer<Float>, height: Int, width: Int, into grid: UnsafeMutablePointer<Float>
    ) {
        for y in 0 ..< height {
            let yn = normalised(y, height)
            for x in 0 ..< width {
                let xn = normalised(x, width)
                grid[(y * width + x) * 2] = t[0] * xn + t[1] * yn + t[2]
                grid[(y * width + x) * 2 + 1] = t[3] * xn + t[4] * yn + t[5]
            }
        }
    }

    /// dTheta (6, overwritten) from dGrid.
    public static func affineGridBackward(
        dGrid: UnsafePointer<Float>, height: Int, width: Int, dTheta: UnsafeMutablePointer<Float>
    ) {
        // Accumulated in Double: 1,764 terms of mixed sign.
        var d0 = 0.0
        var d1 = 0.0
        var d2 = 0.0
        var d3 = 0.0
        var d4 = 0.0
        var d5 = 0.0
        for y in 0 ..< height {
            let yn = Double(normalised(y, height))
            for x in 0 ..< width {
                let xn = Double(normalised(x, width))
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

    /// Where grid point i samples: the top-left pixel of its 2x2 neighbourhood and the
    /// fractional offsets, after unnormalising: pixel = ((g + 1) * size - 1) / 2.
    @inline(__always)
    static func sourcePixel(_ grid: UnsafePointer<Float>, _ i: Int, height: Int, width: Int) -> (Int, Int, Float, Float)
    {
        let ix = ((grid[2 * i] + 1) * Float(width) - 1) / 2
        let iy = ((grid[2 * i + 1] + 1) * Float(height) - 1) / 2
        let x0 = ix.rounded(.down)
        let y0 = iy.rounded(.down)
        return (Int(x0), Int(y0), ix - x0, iy - y0)
    }

    /// Bilinear sampling with zero padding: output pixel i reads the input at grid point i.
    /// The output has as many pixels as the grid; the input is height x width.
    public static func sample(
        _ input: UnsafePointer<Float>, height: Int, width: Int, grid: UnsafePointer<Float>,
        count: Int, into output: UnsafeMutablePointer<Float>
    ) {
        for i in 0 ..< count {
            let (x0, y0, fx, fy) = sourcePixel(grid, i, height: height, width: width)
            var value: Float = 0
            func pixel(_ x: Int, _ y: Int) -> Float {
                x >= 0 && x < width && y >= 0 && y < height ? input[y * width + x] : 0
            }
            value += pixel(x0, y0) * ((1 - fx) * (1 - fy))
            value += pixel(x0 + 1, y0) * (fx * (1 - fy))
            value += pixel(x0, y0 + 1) * ((1 - fx) * fy)
            value += pixel(x0 + 1, y0 + 1) * (fx * fy)
            output[i] = value
        }
    }

    /// Gradients of `sample`: dGrid (overwritten, 2 per output pixel) and, if given, dInput
    /// (overwritten, height x width).
    public static func sampleBackward(
        _ input: UnsafePointer<Float>, height: Int, width: Int, grid: UnsafePointer<Float>,
        count: Int, dOutput: UnsafePointer<Float>, dGrid: UnsafeMutablePointer<Float>,
        dInput: UnsafeMutablePointer<Float>?
    ) {
        dInput?.initialize(repeating: 0, count: height * width)
        let w = Float(width)
        let h = Float(height)
        for i in 0 ..< count {
            let (x0, y0, fx, fy) = sourcePixel(grid, i, height: height, width: width)
            let g = dOutput[i]
            func pixel(_ x: Int, _ y: Int) -> Float {
                x >= 0 && x < width && y >= 0 && y < height ? input[y * width + x] : 0
            }
            let v00 = pixel(x0, y0)
            let v10 = pixel(x0 + 1, y0)
            let v01 = pixel(x0, y0 + 1)
            let v11 = pixel(x0 + 1, y0 + 1)
            // d value / d ix and d iy, then the chain through the unnormalisation (size / 2).
            let dix = (v10 - v00) * (1 - fy) + (v11 - v01) * fy
            let diy = (v01 - v00) * (1 - fx) + (v11 - v10) * fx
            dGrid[2 * i] = g * dix * (w / 2)
            dGrid[2 * i + 1] = g * diy * (h / 2)
            if let dInput {
                func add(_ x: Int, _ y: Int, _ weight: Float) {
                    if x >= 0 && x < width && y >= 0 && y < height { dInput[y * width + x] += g * weight }
                }
                add(x0, y0, (1 - fx) * (1 - fy))
                add(x0 + 1, y0, fx * (1 - fy))
                add(x0, y0 + 1, (1 - fx) * fy)
                add(x0 + 1, y0 + 1, fx * fy)
            }
        }
    }
}

/// Log-softmax over `count` logits and the negative log-likelihood of a label.
public enum LogSoftmax {
    /// Writes log-probabilities; returns the index of the largest.
    @discardableResult
    public static func forward(_ logits: UnsafePointer<Float>, count: Int, into logProbs: UnsafeMutablePointer<Float>)
        -> Int
    {
        var best = 0
        var maximum = logits[0]
        for i in 1 ..< count where logits[i] > maximum {
            maximum = logits[i]
            best = i
        }
        var sum: Float = 0
        for i in 0 ..< count { sum += exp(logits[i] - maximum) }
        let logSum = log(sum) + maximum
        for i in 0 ..< count { logProbs[i] = logits[i] - logSum }
        return best
    }

    /// d(scale * NLL(label)) / d logits = scale * (softmax - onehot). With `smoothing` e the
    /// target is (1 - e) onehot + e / count: the gradient of PyTorch's
    /// `cross_entropy(label_smoothing: e)`.
    public static func backward(
        logProbs: UnsafePointer<Float>, count: Int, label: Int, scale: Float, smoothing: Float = 0,
        dLogits: UnsafeMutablePointer<Float>
    ) {
        let floor = smoothing / Float(count)
        for i in 0 ..< count { dLogits[i] = scale * (exp(logProbs[i]) - (i == label ? 1 - smoothing + floor : floor)) }
    }
}
