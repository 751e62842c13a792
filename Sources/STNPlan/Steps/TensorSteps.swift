import STNModel

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Steps of version-2 descriptions: dense row-major (NCHW) tensors of rank 1 to 4 whose
/// dims, batch included, were fixed at planning. Every index range is set up at init from
/// the checked dims, so `forward` only loops.
enum TensorSteps {
    /// The step that runs `operation` (reshape has none: the plan makes it an alias).
    static func make(
        _ operation: TensorOperation, spec: LayerSpec, inputs: [Int], output: Int, valueOffset: Int?
    ) -> Step {
        let name = spec.name
        let dims = spec.inputDims
        let out = spec.outputDims
        switch operation {
        case .constant:
            return ConstantStep(name: name, output: output, count: spec.outputShape.count, offset: valueOffset ?? 0)
        case .conv(let stride, let pads, let group):
            return DenseConvolutionStep(
                name: name, inputs: inputs, output: output, input: dims[0], weight: dims[1], outputDims: out,
                stride: stride, pads: pads, group: group)
        case .maxPool(let pooling), .averagePool(let pooling):
            var maximum = false
            if case .maxPool = operation { maximum = true }
            return DensePoolStep(
                name: name, input: inputs[0], output: output, inputDims: dims[0], outputDims: out, pooling: pooling,
                maximum: maximum)
        case .globalAveragePool:
            return GlobalAveragePoolStep(
                name: name, input: inputs[0], output: output, planes: dims[0][0] * dims[0][1],
                size: dims[0].dropFirst(2).reduce(1, *))
        case .batchNorm(let epsilon):
            return DenseBatchNormStep(name: name, inputs: inputs, output: output, dims: dims[0], epsilon: epsilon)
        case .gemm(let transA, let transB, let alpha, let beta):
            return GemmStep(
                name: name, inputs: inputs, output: output, a: dims[0], b: dims[1], c: dims.count > 2 ? dims[2] : nil,
                transA: transA, transB: transB, alpha: alpha, beta: beta)
        case .binary(let op):
            return BroadcastStep(name: name, inputs: inputs, output: output, a: dims[0], b: dims[1], out: out, op: op)
        case .relu:
            return ReLUStep(name: name, input: inputs[0], output: output, count: spec.outputShape.count)
        case .reshape:
            return ConstantStep(name: name, output: output, count: 0, offset: 0)
        case .transpose(let perm):
            // Output element (o0..o3) reads input axis perm[i] at o_i.
            var strides = [Int](repeating: 0, count: dims[0].count)
            var stride = 1
            for axis in dims[0].indices.reversed() {
                strides[axis] = stride
                stride *= dims[0][axis]
            }
            return GatherStridesStep(
                name: name, input: inputs[0], output: output, dims: out, strides: perm.map { strides[$0] }, sum: false)
        case .reduceSum(let axes, _):
            // Input element (i0..i3) adds into the output at the kept axes' strides.
            var strides = [Int](repeating: 0, count: dims[0].count)
            var stride = 1
            for axis in dims[0].indices.reversed() where !axes.contains(axis) {
                strides[axis] = stride
                stride *= dims[0][axis]
            }
            return GatherStridesStep(
                name: name, input: inputs[0], output: output, dims: dims[0], strides: strides, sum: true,
                outputCount: spec.outputShape.count)
        case .softmax(let axis, let logarithm):
            return AxisSoftmaxStep(
                name: name, input: inputs[0], output: output, outer: dims[0][..<axis].reduce(1, *),
                extent: dims[0][axis], inner: dims[0][(axis + 1)...].reduce(1, *), logarithm: logarithm)
        case .resize(let resizing):
            return DenseResizeStep(
                name: name, input: inputs[0], output: output, inputDims: dims[0], resizing: resizing)
        case .affineGrid(let size, let alignCorners):
            return AffineGridStep(
                name: name, input: inputs[0], output: output, batch: size[0], height: size[2], width: size[3],
                alignCorners: alignCorners)
        case .gridSample(let mode, let padding, let alignCorners):
            return DenseGridSampleStep(
                name: name, inputs: inputs, output: output, image: dims[0], grid: dims[1], nearest: mode == .nearest,
                border: padding == .border, alignCorners: alignCorners)
        }
    }
}

/// A constant (weights, a bound graph input): its value lives with the packed weights and
/// is copied into its tensor each frame.
final class ConstantStep: Step {
    let count: Int
    let offset: Int
    private var value: UnsafeMutablePointer<Float>?

    init(name: String, output: Int, count: Int, offset: Int) {
        self.count = count
        self.offset = offset
        super.init(name: name, inputs: [], output: output)
    }

    override func weightFloats(training: Bool) -> Int { count }
    override func bind(weights: UnsafeMutablePointer<Float>, training: Bool) { value = weights }
    override func load(_ parameters: UnsafePointer<Float>) {
        value?.update(from: parameters + offset, count: count)
    }
    override func forward(_ frame: Frame) {
        guard let value else { return }
        frame.values[output].update(from: value, count: count)
    }
}

/// Direct convolution, any kernel, stride, padding (each side its own) and group.
final class DenseConvolutionStep: Step {
    let n: Int, c: Int, h: Int, w: Int, m: Int, kh: Int, kw: Int, oh: Int, ow: Int
    let stride: Size2, pads: TensorOperation.Pads, group: Int

    init(
        name: String, inputs: [Int], output: Int, input: [Int], weight: [Int], outputDims: [Int], stride: Size2,
        pads: TensorOperation.Pads, group: Int
    ) {
        (n, c, h, w) = (input[0], input[1], input[2], input[3])
        (m, kh, kw) = (weight[0], weight[2], weight[3])
        (oh, ow) = (outputDims[2], outputDims[3])
        self.stride = stride
        self.pads = pads
        self.group = group
        super.init(name: name, inputs: inputs, output: output)
    }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let weight = frame.values[inputs[1]]
        let bias: UnsafeMutablePointer<Float>? = inputs.count > 2 ? frame.values[inputs[2]] : nil
        let y = frame.values[output]
        let perGroupIn = c / group
        let perGroupOut = m / group
        for image in 0 ..< n {
            for map in 0 ..< m {
                let g = map / perGroupOut
                let b = bias?[map] ?? 0
                for row in 0 ..< oh {
                    for column in 0 ..< ow {
                        var sum: Float = 0
                        for channel in 0 ..< perGroupIn {
                            let plane = x + ((image * c + g * perGroupIn + channel) * h) * w
                            let kernel = weight + ((map * perGroupIn + channel) * kh) * kw
                            for i in 0 ..< kh {
                                let sourceRow = row * stride.height - pads.top + i
                                if sourceRow < 0 || sourceRow >= h { continue }
                                for j in 0 ..< kw {
                                    let sourceColumn = column * stride.width - pads.left + j
                                    if sourceColumn < 0 || sourceColumn >= w { continue }
                                    sum += plane[sourceRow * w + sourceColumn] * kernel[i * kw + j]
                                }
                            }
                        }
                        y[((image * m + map) * oh + row) * ow + column] = sum + b
                    }
                }
            }
        }
    }
}

/// Max or average pooling with padding, strides and ceil mode; padding never wins a max,
/// and an average divides by the window's values inside the input (or, with
/// count_include_pad, inside the padded input).
final class DensePoolStep: Step {
    let planes: Int, h: Int, w: Int, oh: Int, ow: Int
    let pooling: TensorOperation.Pooling
    let maximum: Bool

    init(
        name: String, input: Int, output: Int, inputDims: [Int], outputDims: [Int], pooling: TensorOperation.Pooling,
        maximum: Bool
    ) {
        planes = inputDims[0] * inputDims[1]
        (h, w) = (inputDims[2], inputDims[3])
        (oh, ow) = (outputDims[2], outputDims[3])
        self.pooling = pooling
        self.maximum = maximum
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let y = frame.values[output]
        let (k, s, p) = (pooling.kernel, pooling.stride, pooling.pads)
        for plane in 0 ..< planes {
            let source = x + plane * h * w
            for row in 0 ..< oh {
                let top = row * s.height - p.top
                let rows = max(top, 0) ..< min(top + k.height, h)
                for column in 0 ..< ow {
                    let left = column * s.width - p.left
                    let columns = max(left, 0) ..< min(left + k.width, w)
                    var value: Float
                    if maximum {
                        value = -.infinity
                        for i in rows { for j in columns { value = max(value, source[i * w + j]) } }
                    } else {
                        value = 0
                        for i in rows { for j in columns { value += source[i * w + j] } }
                        let count: Int
                        if pooling.countIncludePad {
                            let bottom = min(top + k.height, h + p.bottom)
                            let right = min(left + k.width, w + p.right)
                            count = (bottom - top) * (right - left)
                        } else {
                            count = rows.count * columns.count
                        }
                        value /= Float(max(count, 1))
                    }
                    y[(plane * oh + row) * ow + column] = value
                }
            }
        }
    }
}

/// The mean of each plane.
final class GlobalAveragePoolStep: Step {
    let planes: Int, size: Int

    init(name: String, input: Int, output: Int, planes: Int, size: Int) {
        self.planes = planes
        self.size = size
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let y = frame.values[output]
        for plane in 0 ..< planes {
            var sum: Float = 0
            for i in 0 ..< size { sum += x[plane * size + i] }
            y[plane] = sum / Float(size)
        }
    }
}

/// Inference batch norm over axis 1: (x - mean) / sqrt(var + eps) * scale + bias.
final class DenseBatchNormStep: Step {
    let batch: Int, channels: Int, size: Int
    let epsilon: Float

    init(name: String, inputs: [Int], output: Int, dims: [Int], epsilon: Float) {
        batch = dims[0]
        channels = dims[1]
        size = dims.dropFirst(2).reduce(1, *)
        self.epsilon = epsilon
        super.init(name: name, inputs: inputs, output: output)
    }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let (scale, bias, mean, variance) = (
            frame.values[inputs[1]], frame.values[inputs[2]], frame.values[inputs[3]], frame.values[inputs[4]]
        )
        let y = frame.values[output]
        for image in 0 ..< batch {
            for channel in 0 ..< channels {
                let factor = scale[channel] / (variance[channel] + epsilon).squareRoot()
                let shift = bias[channel] - mean[channel] * factor
                let base = (image * channels + channel) * size
                for i in 0 ..< size { y[base + i] = x[base + i] * factor + shift }
            }
        }
    }
}

/// alpha * A' * B' + beta * C, C broadcast over the [M, N] product.
final class GemmStep: Step {
    let m: Int, k: Int, n: Int
    /// Element strides of A' (row, inner) and B' (inner, column), and of C (row, column; 0 = broadcast).
    let aStrides: (Int, Int), bStrides: (Int, Int), cStrides: (Int, Int)
    let alpha: Float, beta: Float

    init(
        name: String, inputs: [Int], output: Int, a: [Int], b: [Int], c: [Int]?, transA: Bool, transB: Bool,
        alpha: Float, beta: Float
    ) {
        (m, k) = transA ? (a[1], a[0]) : (a[0], a[1])
        n = transB ? b[0] : b[1]
        aStrides = transA ? (1, a[1]) : (a[1], 1)
        bStrides = transB ? (1, b[1]) : (b[1], 1)
        if let c {
            let padded = [Int](repeating: 1, count: max(0, 2 - c.count)) + c
            cStrides = (padded[0] == 1 ? 0 : padded[1], padded[1] == 1 ? 0 : 1)
        } else {
            cStrides = (0, 0)
        }
        self.alpha = alpha
        self.beta = beta
        super.init(name: name, inputs: inputs, output: output)
    }

    override func forward(_ frame: Frame) {
        let a = frame.values[inputs[0]]
        let b = frame.values[inputs[1]]
        let c: UnsafeMutablePointer<Float>? = inputs.count > 2 ? frame.values[inputs[2]] : nil
        let y = frame.values[output]
        for i in 0 ..< m {
            for j in 0 ..< n {
                var sum: Float = 0
                for p in 0 ..< k { sum += a[i * aStrides.0 + p * aStrides.1] * b[p * bStrides.0 + j * bStrides.1] }
                var value = alpha * sum
                if let c { value += beta * c[i * cStrides.0 + j * cStrides.1] }
                y[i * n + j] = value
            }
        }
    }
}

/// Add, Sub, Mul, Div with NumPy broadcasting (up to rank 4).
final class BroadcastStep: Step {
    let dims: [Int]
    let aStrides: [Int], bStrides: [Int]
    let op: TensorOperation.BinaryOperator

    init(
        name: String, inputs: [Int], output: Int, a: [Int], b: [Int], out: [Int], op: TensorOperation.BinaryOperator
    ) {
        func padded(_ d: [Int]) -> [Int] { [Int](repeating: 1, count: 4 - d.count) + d }
        func strides(_ d: [Int]) -> [Int] {
            let p = padded(d)
            var result = [Int](repeating: 0, count: 4)
            var stride = 1
            for axis in (0 ..< 4).reversed() {
                result[axis] = p[axis] == 1 ? 0 : stride
                stride *= p[axis]
            }
            return result
        }
        dims = padded(out)
        aStrides = strides(a)
        bStrides = strides(b)
        self.op = op
        super.init(name: name, inputs: inputs, output: output)
    }

    override func forward(_ frame: Frame) {
        let a = frame.values[inputs[0]]
        let b = frame.values[inputs[1]]
        let y = frame.values[output]
        var i = 0
        for d0 in 0 ..< dims[0] {
            for d1 in 0 ..< dims[1] {
                for d2 in 0 ..< dims[2] {
                    let aBase = d0 * aStrides[0] + d1 * aStrides[1] + d2 * aStrides[2]
                    let bBase = d0 * bStrides[0] + d1 * bStrides[1] + d2 * bStrides[2]
                    for d3 in 0 ..< dims[3] {
                        let x = a[aBase + d3 * aStrides[3]]
                        let z = b[bBase + d3 * bStrides[3]]
                        switch op {
                        case .add: y[i] = x + z
                        case .sub: y[i] = x - z
                        case .mul: y[i] = x * z
                        case .div: y[i] = x / z
                        }
                        i += 1
                    }
                }
            }
        }
    }
}

/// (Log-)softmax over one axis: `outer` blocks of `extent` x `inner`, max-shifted so large
/// values stay finite.
final class AxisSoftmaxStep: Step {
    let outer: Int, extent: Int, inner: Int
    let logarithm: Bool

    init(name: String, input: Int, output: Int, outer: Int, extent: Int, inner: Int, logarithm: Bool) {
        self.outer = outer
        self.extent = extent
        self.inner = inner
        self.logarithm = logarithm
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let y = frame.values[output]
        for o in 0 ..< outer {
            for i in 0 ..< inner {
                let base = o * extent * inner + i
                var largest = -Float.infinity
                for e in 0 ..< extent { largest = max(largest, x[base + e * inner]) }
                var sum: Float = 0
                for e in 0 ..< extent { sum += exp(x[base + e * inner] - largest) }
                let logSum = log(sum)
                for e in 0 ..< extent {
                    let shifted = x[base + e * inner] - largest
                    y[base + e * inner] = logarithm ? shifted - logSum : exp(shifted) / sum
                }
            }
        }
    }
}

/// Resize of the last two axes: nearest (ONNX's rounding modes) or linear, with the
/// coordinate transforms half_pixel, pytorch_half_pixel, asymmetric and align_corners.
/// Source indices and weights are computed once at init.
final class DenseResizeStep: Step {
    let planes: Int, h: Int, w: Int, oh: Int, ow: Int
    /// Per output row / column: the two source indices and the second one's weight.
    let rows: [(Int, Int, Float)], columns: [(Int, Int, Float)]

    init(name: String, input: Int, output: Int, inputDims: [Int], resizing: TensorOperation.Resizing) {
        planes = inputDims[0] * inputDims[1]
        (h, w) = (inputDims[2], inputDims[3])
        (oh, ow) = (resizing.size.height, resizing.size.width)
        func taps(_ size: Int, _ outSize: Int, _ scale: Float?) -> [(Int, Int, Float)] {
            let s = scale ?? Float(outSize) / Float(size)
            return (0 ..< outSize).map { o -> (Int, Int, Float) in
                var x: Float
                switch resizing.coordinates {
                case .halfPixel: x = (Float(o) + 0.5) / s - 0.5
                case .pytorchHalfPixel: x = outSize > 1 ? (Float(o) + 0.5) / s - 0.5 : 0
                case .asymmetric: x = Float(o) / s
                case .alignCorners: x = outSize == 1 ? 0 : Float(o) * Float(size - 1) / Float(outSize - 1)
                }
                if resizing.mode == .nearest {
                    var r: Float
                    switch resizing.rounding {
                    case .roundPreferFloor: r = x == x.rounded(.down) + 0.5 ? x.rounded(.down) : x.rounded()
                    case .roundPreferCeil: r = x == x.rounded(.down) + 0.5 ? x.rounded(.up) : x.rounded()
                    case .floor: r = x.rounded(.down)
                    case .ceil: r = x.rounded(.up)
                    }
                    let i = Int(min(max(r, 0), Float(size - 1)))
                    return (i, i, 0)
                }
                x = min(max(x, 0), Float(size - 1))
                let low = Int(x.rounded(.down))
                let high = min(low + 1, size - 1)
                return (low, high, x - Float(low))
            }
        }
        rows = taps(h, oh, resizing.scales?.height)
        columns = taps(w, ow, resizing.scales?.width)
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let y = frame.values[output]
        rows.withUnsafeBufferPointer { rows in
            columns.withUnsafeBufferPointer { columns in
                for plane in 0 ..< planes {
                    let source = x + plane * h * w
                    for (r, (top, bottom, fy)) in rows.enumerated() {
                        for (c, (left, right, fx)) in columns.enumerated() {
                            let upper = source[top * w + left] * (1 - fx) + source[top * w + right] * fx
                            let lower = source[bottom * w + left] * (1 - fx) + source[bottom * w + right] * fx
                            y[(plane * oh + r) * ow + c] = upper * (1 - fy) + lower * fy
                        }
                    }
                }
            }
        }
    }
}

/// `AffineGrid` (2-d): theta [N, 2, 3] to grid [N, H, W, 2] of (x, y) in [-1, 1].
final class AffineGridStep: Step {
    let batch: Int, height: Int, width: Int
    let xs: [Float], ys: [Float]

    init(name: String, input: Int, output: Int, batch: Int, height: Int, width: Int, alignCorners: Bool) {
        (self.batch, self.height, self.width) = (batch, height, width)
        func base(_ n: Int) -> [Float] {
            (0 ..< n).map { i in
                alignCorners
                    ? (n == 1 ? -1 : -1 + 2 * Float(i) / Float(n - 1)) : (2 * Float(i) + 1) / Float(n) - 1
            }
        }
        xs = base(width)
        ys = base(height)
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        let theta = frame.values[inputs[0]]
        let grid = frame.values[output]
        for n in 0 ..< batch {
            let t = theta + n * 6
            for i in 0 ..< height {
                for j in 0 ..< width {
                    let (x, y) = (xs[j], ys[i])
                    let at = ((n * height + i) * width + j) * 2
                    grid[at] = t[0] * x + t[1] * y + t[2]
                    grid[at + 1] = t[3] * x + t[4] * y + t[5]
                }
            }
        }
    }
}

/// `GridSample` (2-d): bilinear or nearest, zeros or border padding, both align_corners.
final class DenseGridSampleStep: Step {
    let n: Int, c: Int, h: Int, w: Int, oh: Int, ow: Int
    let nearest: Bool, border: Bool, alignCorners: Bool

    init(
        name: String, inputs: [Int], output: Int, image: [Int], grid: [Int], nearest: Bool, border: Bool,
        alignCorners: Bool
    ) {
        (n, c, h, w) = (image[0], image[1], image[2], image[3])
        (oh, ow) = (grid[1], grid[2])
        (self.nearest, self.border, self.alignCorners) = (nearest, border, alignCorners)
        super.init(name: name, inputs: inputs, output: output)
    }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let grid = frame.values[inputs[1]]
        let y = frame.values[output]
        func source(_ g: Float, _ size: Int) -> Float {
            var s = alignCorners ? (g + 1) / 2 * Float(size - 1) : ((g + 1) * Float(size) - 1) / 2
            if border { s = min(max(s, 0), Float(size - 1)) }
            return s
        }
        for image in 0 ..< n {
            for i in 0 ..< oh {
                for j in 0 ..< ow {
                    let at = ((image * oh + i) * ow + j) * 2
                    let sx = source(grid[at], w)
                    let sy = source(grid[at + 1], h)
                    for channel in 0 ..< c {
                        let plane = x + (image * c + channel) * h * w
                        func pixel(_ row: Int, _ column: Int) -> Float {
                            row >= 0 && row < h && column >= 0 && column < w ? plane[row * w + column] : 0
                        }
                        var value: Float
                        if !sx.isFinite || !sy.isFinite {
                            value = 0
                        } else if nearest {
                            let row = sy.rounded(.toNearestOrEven)
                            let column = sx.rounded(.toNearestOrEven)
                            value =
                                abs(row) < 1e6 && abs(column) < 1e6 ? pixel(Int(row), Int(column)) : 0
                        } else if abs(sx) < 1e6, abs(sy) < 1e6 {
                            let x0 = sx.rounded(.down)
                            let y0 = sy.rounded(.down)
                            let (fx, fy) = (sx - x0, sy - y0)
                            let (column, row) = (Int(x0), Int(y0))
                            value =
                                (pixel(row, column) * (1 - fx) + pixel(row, column + 1) * fx) * (1 - fy)
                                + (pixel(row + 1, column) * (1 - fx) + pixel(row + 1, column + 1) * fx) * fy
                        } else {
                            value = 0
                        }
                        y[((image * c + channel) * oh + i) * ow + j] = value
                    }
                }
            }
        }
    }
}

/// Transpose (each output element read at permuted strides of the input) and ReduceSum
/// (each input element added into the output at the kept axes' strides), over rank <= 4.
final class GatherStridesStep: Step {
    /// The iterated dims and their strides in the other tensor, padded to rank 4.
    let dims: [Int], strides: [Int]
    let sum: Bool
    let outputCount: Int

    init(name: String, input: Int, output: Int, dims: [Int], strides: [Int], sum: Bool, outputCount: Int = 0) {
        let padding = 4 - dims.count
        self.dims = [Int](repeating: 1, count: padding) + dims
        self.strides = [Int](repeating: 0, count: padding) + strides
        self.sum = sum
        self.outputCount = outputCount
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let y = frame.values[output]
        if sum { y.initialize(repeating: 0, count: outputCount) }
        var i = 0
        for a in 0 ..< dims[0] {
            for b in 0 ..< dims[1] {
                for c in 0 ..< dims[2] {
                    let base = a * strides[0] + b * strides[1] + c * strides[2]
                    for d in 0 ..< dims[3] {
                        if sum {
                            y[base + d * strides[3]] += x[i]
                        } else {
                            y[i] = x[base + d * strides[3]]
                        }
                        i += 1
                    }
                }
            }
        }
    }
}
