/// The operations of a version-2 description (`stn-model 2`): dense float tensors of rank 1
/// to 4 in row-major (NCHW) order, every dimension, batch included, fixed when the model is
/// written. They follow ONNX's operators of the same names; constants (weights, bound graph
/// inputs) are layers of their own that read nothing and hold their value as a parameter.
public enum TensorOperation: Sendable, Equatable {
    /// A constant of the given dims; its values are the parameter `PREFIX.value`.
    case constant(dims: [Int])
    /// Convolution of x [N, C, H, W] with w [M, C / group, kh, kw] and an optional bias [M].
    case conv(stride: Size2, pads: Pads, group: Int)
    case maxPool(Pooling)
    case averagePool(Pooling)
    /// The mean over every axis after the second, kept as 1s.
    case globalAveragePool
    /// Inference batch norm of x [N, C, ...] by scale, bias, mean and variance, each [C].
    case batchNorm(epsilon: Float)
    /// alpha * A' * B' + beta * C (C broadcast to the product), A and B of rank 2.
    case gemm(transA: Bool, transB: Bool, alpha: Float, beta: Float)
    /// Elementwise with NumPy broadcasting of both inputs.
    case binary(BinaryOperator)
    case relu
    /// The same values under new dims (Reshape, Flatten, Identity, inference Dropout).
    case reshape(dims: [Int])
    /// Axes permuted: output axis i is input axis perm[i].
    case transpose(perm: [Int])
    /// The sum over `axes`, kept as 1s or dropped.
    case reduceSum(axes: [Int], keepDims: Bool)
    /// (Log-)softmax over one axis.
    case softmax(axis: Int, logarithm: Bool)
    /// Resize of the last two axes of [N, C, H, W] to `dims`.
    case resize(Resizing)
    /// theta [N, 2, 3] to a sampling grid [N, H, W, 2] for an image of `size` [N, C, H, W].
    case affineGrid(size: [Int], alignCorners: Bool)
    /// An image [N, C, H, W] sampled at a grid [N, Ho, Wo, 2] to [N, C, Ho, Wo].
    case gridSample(mode: SampleMode, padding: SamplePadding, alignCorners: Bool)

    /// Padding before and after each of the two spatial axes.
    public struct Pads: Sendable, Equatable, CustomStringConvertible {
        public var top: Int, left: Int, bottom: Int, right: Int
        public init(top: Int, left: Int, bottom: Int, right: Int) {
            self.top = top
            self.left = left
            self.bottom = bottom
            self.right = right
        }
        public static let zero = Pads(top: 0, left: 0, bottom: 0, right: 0)
        public var description: String { "\(top),\(left),\(bottom),\(right)" }
    }

    public struct Pooling: Sendable, Equatable {
        public var kernel: Size2
        public var stride: Size2
        public var pads: Pads
        /// Output size rounded up (ONNX `ceil_mode`): a last window may start in the input or
        /// its leading padding only.
        public var ceil: Bool
        /// Average pooling divides by the window inside the padded input rather than by the
        /// values inside the input.
        public var countIncludePad: Bool
        public init(kernel: Size2, stride: Size2, pads: Pads, ceil: Bool, countIncludePad: Bool) {
            self.kernel = kernel
            self.stride = stride
            self.pads = pads
            self.ceil = ceil
            self.countIncludePad = countIncludePad
        }
    }

    public enum BinaryOperator: String, Sendable, Equatable, CaseIterable {
        case add, sub, mul, div
    }

    public struct Resizing: Sendable, Equatable {
        public enum Mode: String, Sendable, Equatable { case nearest, linear }
        public enum Coordinates: String, Sendable, Equatable, CaseIterable {
            case halfPixel = "half_pixel"
            case pytorchHalfPixel = "pytorch_half_pixel"
            case asymmetric
            case alignCorners = "align_corners"
        }
        public enum Rounding: String, Sendable, Equatable, CaseIterable {
            case roundPreferFloor = "round_prefer_floor"
            case roundPreferCeil = "round_prefer_ceil"
            case floor, ceil
        }
        /// Output height and width.
        public var size: Size2
        /// The scales the output was computed from (used by the coordinate transform), or nil:
        /// output / input.
        public var scales: (height: Float, width: Float)?
        public var mode: Mode
        public var coordinates: Coordinates
        public var rounding: Rounding

        public init(
            size: Size2, scales: (height: Float, width: Float)?, mode: Mode, coordinates: Coordinates,
            rounding: Rounding
        ) {
            self.size = size
            self.scales = scales
            self.mode = mode
            self.coordinates = coordinates
            self.rounding = rounding
        }

        public static func == (a: Resizing, b: Resizing) -> Bool {
            a.size == b.size && a.scales?.height == b.scales?.height && a.scales?.width == b.scales?.width
                && a.mode == b.mode && a.coordinates == b.coordinates && a.rounding == b.rounding
        }
    }

    public var keyword: String {
        switch self {
        case .constant: return "constant"
        case .conv: return "conv"
        case .maxPool: return "maxpool"
        case .averagePool: return "avgpool"
        case .globalAveragePool: return "global_avgpool"
        case .batchNorm: return "batchnorm"
        case .gemm: return "gemm"
        case .binary(let op): return op.rawValue
        case .relu: return "relu"
        case .reshape: return "reshape"
        case .transpose: return "transpose"
        case .reduceSum: return "reduce_sum"
        case .softmax(_, let logarithm): return logarithm ? "log_softmax" : "softmax"
        case .resize: return "resize"
        case .affineGrid: return "affine_grid"
        case .gridSample: return "grid_sample"
        }
    }

    /// How many tensors it reads: at least, at most.
    public var inputCounts: ClosedRange<Int> {
        switch self {
        case .constant: return 0 ... 0
        case .conv: return 2 ... 3
        case .batchNorm: return 5 ... 5
        case .gemm: return 2 ... 3
        case .binary, .gridSample: return 2 ... 2
        default: return 1 ... 1
        }
    }

    public static let keywords = [
        "constant", "conv", "maxpool", "avgpool", "global_avgpool", "batchnorm", "gemm", "add", "sub", "mul", "div",
        "relu", "reshape", "transpose", "reduce_sum", "softmax", "log_softmax", "resize", "affine_grid", "grid_sample",
    ]
}

/// At most 4 dims, each 1 ... maximumDimension, and their product within a tensor's bound.
public func checkedDims(_ dims: [Int]) -> Bool {
    guard (1 ... 4).contains(dims.count), dims.allSatisfy({ $0 >= 1 && $0 <= ModelDescription.maximumDimension })
    else { return false }
    var product = 1
    for d in dims {
        product *= d
        if product > Architecture.maximumTensorElements { return false }
    }
    return true
}

extension TensorOperation {
    /// The dims of the output for inputs of `inputs` dims; throws a message for what does not fit.
    public func outputDims(_ inputs: [[Int]], fail: (String) -> Error) throws -> [Int] {
        let x = inputs.first ?? []
        func spatial(_ what: String) throws -> (n: Int, c: Int, h: Int, w: Int) {
            guard x.count == 4 else { throw fail("\(keyword) reads [N, C, H, W], given \(x)") }
            return (x[0], x[1], x[2], x[3])
        }
        switch self {
        case .constant(let dims):
            return dims
        case .conv(let stride, let pads, let group):
            let (n, c, h, w) = try spatial("conv")
            let weight = inputs[1]
            guard weight.count == 4, group >= 1, c % group == 0, weight[1] * group == c, weight[0] % group == 0 else {
                throw fail("conv weight \(weight) does not fit input \(x) with group \(group)")
            }
            if inputs.count == 3, inputs[2] != [weight[0]] {
                throw fail("conv bias \(inputs[2]), expected [\(weight[0])]")
            }
            let oh = h + pads.top + pads.bottom - weight[2]
            let ow = w + pads.left + pads.right - weight[3]
            guard oh >= 0, ow >= 0 else { throw fail("conv kernel \(weight) is larger than the padded input \(x)") }
            return [n, weight[0], oh / stride.height + 1, ow / stride.width + 1]
        case .maxPool(let p), .averagePool(let p):
            let (n, c, h, w) = try spatial("pool")
            func extent(_ size: Int, _ k: Int, _ s: Int, _ before: Int, _ after: Int) throws -> Int {
                let span = size + before + after - k
                guard span >= 0, before < k, after < k else {
                    throw fail("pooling window \(k) with pads \(p.pads) does not fit \(x)")
                }
                var out = (p.ceil ? (span + s - 1) / s : span / s) + 1
                if p.ceil, (out - 1) * s >= size + before { out -= 1 }
                return out
            }
            return [
                n, c, try extent(h, p.kernel.height, p.stride.height, p.pads.top, p.pads.bottom),
                try extent(w, p.kernel.width, p.stride.width, p.pads.left, p.pads.right),
            ]
        case .globalAveragePool:
            guard x.count >= 3 else { throw fail("global_avgpool reads [N, C, ...], given \(x)") }
            return [x[0], x[1]] + [Int](repeating: 1, count: x.count - 2)
        case .batchNorm:
            guard x.count >= 2, inputs[1 ... 4].allSatisfy({ $0 == [x[1]] }) else {
                throw fail(
                    "batchnorm of \(x) needs four [\(x.count >= 2 ? x[1] : 0)] inputs, given \(inputs.dropFirst())")
            }
            return x
        case .gemm(let transA, let transB, _, _):
            let (a, b) = (inputs[0], inputs[1])
            guard a.count == 2, b.count == 2 else { throw fail("gemm of \(a) and \(b): both must have rank 2") }
            let (m, k) = transA ? (a[1], a[0]) : (a[0], a[1])
            let (k2, n) = transB ? (b[1], b[0]) : (b[0], b[1])
            guard k == k2 else { throw fail("gemm of \(a) and \(b) (transA \(transA), transB \(transB))") }
            if inputs.count == 3, (try? broadcast(inputs[2], [m, n])) != [m, n] {
                throw fail("gemm bias \(inputs[2]) does not broadcast to [\(m), \(n)]")
            }
            return [m, n]
        case .binary:
            guard let dims = try? broadcast(inputs[0], inputs[1]) else {
                throw fail("\(keyword) of \(inputs[0]) and \(inputs[1]): the shapes do not broadcast")
            }
            return dims
        case .relu:
            return x
        case .reshape(let dims):
            guard dims.reduce(1, *) == x.reduce(1, *) else { throw fail("reshape of \(x) to \(dims)") }
            return dims
        case .transpose(let perm):
            guard perm.sorted() == Array(0 ..< x.count) else { throw fail("transpose perm \(perm) of \(x)") }
            return perm.map { x[$0] }
        case .reduceSum(let axes, let keepDims):
            guard !axes.isEmpty, Set(axes).count == axes.count, axes.allSatisfy({ $0 >= 0 && $0 < x.count }) else {
                throw fail("reduce_sum axes \(axes) of \(x)")
            }
            let kept = x.indices.map { axes.contains($0) ? (keepDims ? 1 : 0) : x[$0] }.filter { $0 != 0 }
            return kept.isEmpty ? [1] : kept
        case .softmax(let axis, _):
            guard axis >= 0, axis < x.count else { throw fail("\(keyword) axis \(axis) of \(x)") }
            return x
        case .resize(let r):
            let (n, c, _, _) = try spatial("resize")
            return [n, c, r.size.height, r.size.width]
        case .affineGrid(let size, _):
            guard x.count == 3, x[1] == 2, x[2] == 3, size.count == 4, size[0] == x[0] else {
                throw fail("affine_grid of theta \(x) for size \(size): expected theta [N, 2, 3] and size [N, C, H, W]")
            }
            return [size[0], size[2], size[3], 2]
        case .gridSample:
            let (n, c, _, _) = try spatial("grid_sample")
            let grid = inputs[1]
            guard grid.count == 4, grid[0] == n, grid[3] == 2 else {
                throw fail("grid_sample grid \(grid) for image \(x): expected [\(n), H, W, 2]")
            }
            return [n, c, grid[1], grid[2]]
        }
    }
}

/// NumPy's multidirectional broadcast of two shapes, or a thrown nil-error.
public func broadcast(_ a: [Int], _ b: [Int]) throws -> [Int] {
    struct Mismatch: Error {}
    let rank = max(a.count, b.count)
    let pa = [Int](repeating: 1, count: rank - a.count) + a
    let pb = [Int](repeating: 1, count: rank - b.count) + b
    return try zip(pa, pb).map { x, y in
        guard x == y || x == 1 || y == 1 else { throw Mismatch() }
        return max(x, y)
    }
}
