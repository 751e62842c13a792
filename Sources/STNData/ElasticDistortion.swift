#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// The elastically distorted MNIST (E) of Jaderberg et al. (2015), appendix A.4, made as
/// Simard, Steinkraus and Platt (2003) describe: two random fields, uniform in [-1, 1] per
/// pixel, each smoothed by a Gaussian of standard deviation `sigma` pixels and scaled by
/// `alpha`, give every canvas pixel a displacement (dx, dy); the pixel is the digit's bilinear
/// sample at its centre plus that displacement (zero outside the digit), rounded to a byte.
///
/// The Gaussian is sampled at integer offsets up to ceil(3 sigma) and normalised to sum 1, as
/// scipy's `gaussian_filter` does. The uniform values are drawn on a grid padded by that
/// radius on every side, so every displacement is a full weighted sum (no border effect):
/// each displacement is then a zero-mean variable of standard deviation
/// alpha * sqrt(1/3) * sum(w_k^2) (`displacementDeviation`), 1.38 pixels at the defaults.
///
/// Rendering needs scratch memory (`workspaceCount` Doubles): pass a workspace from
/// `makeWorkspace()`, one per thread, reused for every image.
public struct ElasticDistortion: DigitDistortion {
    public static let canvasSize = RTSDistortion.digitSize
    /// Simard et al.'s setting for MNIST.
    public static let defaultAlpha = 34.0
    public static let defaultSigma = 4.0
    /// Folded into the seed: E's draws are independent of RTS's with the same seed.
    static let salt: UInt64 = 0x656C_6173_7469_6320  // "elastic "

    public let seed: UInt64
    /// Scale of the smoothed fields, in pixels.
    public let alpha: Double
    /// Standard deviation of the smoothing Gaussian, in pixels.
    public let sigma: Double
    /// The Gaussian's weights at offsets -radius ... radius, summing to 1.
    public let kernel: [Double]

    public init(seed: UInt64, alpha: Double = defaultAlpha, sigma: Double = defaultSigma) {
        precondition(alpha >= 0 && alpha.isFinite, "alpha is a finite non-negative scale")
        precondition(sigma > 0 && sigma <= 28, "sigma is a standard deviation in (0, 28] pixels")
        self.seed = seed
        self.alpha = alpha
        self.sigma = sigma
        kernel = Self.gaussianKernel(sigma: sigma)
    }

    /// A Gaussian of standard deviation `sigma` sampled at integer offsets up to
    /// ceil(3 sigma), normalised to sum 1 (scipy's `gaussian_filter`).
    static func gaussianKernel(sigma: Double) -> [Double] {
        let radius = Int((3 * sigma).rounded(.up))
        let weights = (-radius ... radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }

    /// Doubles of scratch `smoothField` needs for a width x height field and a kernel of
    /// `radius`: the padded noise and one pass's result.
    static func smoothingCount(width: Int, height: Int, radius: Int) -> Int {
        (width + 2 * radius) * (height + 2 * radius) + (height + 2 * radius) * width
    }

    /// How far the kernel reaches on each side.
    public var radius: Int { kernel.count / 2 }
    /// Doubles the fields need before smoothing: the padded noise and one pass's result.
    var smoothingCount: Int { Self.smoothingCount(width: Self.canvasSize, height: Self.canvasSize, radius: radius) }

    /// Standard deviation of each displacement component, in pixels.
    public var displacementDeviation: Double {
        alpha * (1.0 / 3).squareRoot() * kernel.reduce(0) { $0 + $1 * $1 }
    }

    /// Writes image `index`'s displacement fields (28x28 each, row-major, in pixels): canvas
    /// pixel (x, y) samples the digit at (x + 0.5 + dx, y + 0.5 + dy). Draws the padded grid
    /// of dx's uniforms row by row, then dy's; uses `workspace`'s first `smoothingCount`.
    public func displacements(
        index: Int, epoch: Int = 0, dx: UnsafeMutablePointer<Double>, dy: UnsafeMutablePointer<Double>,
        workspace: DistortionWorkspace
    ) {
        precondition(workspace.count >= smoothingCount, "the workspace is too small for this elastic distortion")
        var random = PRNG.image(seed: seed, salt: Self.salt, index: index, epoch: epoch)
        smoothField(&random, into: dx, workspace.doubles)
        smoothField(&random, into: dy, workspace.doubles)
    }

    /// One 28x28 field (`smoothField(_:kernel:alpha:width:height:into:scratch:)`).
    private func smoothField(
        _ random: inout PRNG, into field: UnsafeMutablePointer<Double>, _ scratch: UnsafeMutablePointer<Double>
    ) {
        kernel.withUnsafeBufferPointer { kernel in
            Self.smoothField(
                &random, kernel: kernel, alpha: alpha, width: Self.canvasSize, height: Self.canvasSize, into: field,
                scratch: scratch)
        }
    }

    /// One width x height field: uniform [-1, 1] values drawn row by row on the grid padded
    /// by the kernel's radius on every side, a horizontal then a vertical pass of the kernel
    /// (each sum in kernel order), times alpha. `scratch` holds `smoothingCount` Doubles.
    static func smoothField(
        _ random: inout PRNG, kernel: UnsafeBufferPointer<Double>, alpha: Double, width: Int, height: Int,
        into field: UnsafeMutablePointer<Double>, scratch: UnsafeMutablePointer<Double>
    ) {
        let taps = kernel.count
        let paddedWidth = width + taps - 1
        let paddedHeight = height + taps - 1
        let noise = scratch
        let rows = scratch + paddedWidth * paddedHeight
        for i in 0 ..< paddedWidth * paddedHeight { noise[i] = 2 * random.nextUnitDouble() - 1 }
        // Horizontal: every padded row, the field's columns.
        for y in 0 ..< paddedHeight {
            let out = rows + y * width
            let row = noise + y * paddedWidth
            out.initialize(repeating: 0, count: width)
            for k in 0 ..< taps {
                let w = kernel[k]
                for x in 0 ..< width { out[x] += w * row[x + k] }
            }
        }
        // Vertical: the field's rows.
        for y in 0 ..< height {
            let out = field + y * width
            out.initialize(repeating: 0, count: width)
            for k in 0 ..< taps {
                let w = kernel[k]
                let row = rows + (y + k) * width
                for x in 0 ..< width { out[x] += w * row[x] }
            }
            for x in 0 ..< width { out[x] *= alpha }
        }
    }

    /// Warps a 28x28 digit by the displacement fields `dx`, `dy` (28x28 each) into a 28x28
    /// canvas, which is fully overwritten. Zero fields copy the digit.
    public static func render(
        digit: UnsafePointer<UInt8>, dx: UnsafePointer<Double>, dy: UnsafePointer<Double>,
        into canvas: UnsafeMutablePointer<UInt8>
    ) {
        let n = canvasSize
        for y in 0 ..< n {
            for x in 0 ..< n {
                let i = y * n + x
                let sample = Resampling.bilinear(digit, x: Double(x) + 0.5 + dx[i], y: Double(y) + 0.5 + dy[i])
                canvas[i] = Resampling.byte(sample)
            }
        }
    }

    public var name: String { "e" }
    public var canvasSide: Int { Self.canvasSize }
    /// The smoothing scratch, then the two fields.
    public var workspaceCount: Int { smoothingCount + 2 * Self.canvasSize * Self.canvasSize }

    public func render(
        digit: UnsafePointer<UInt8>, index: Int, epoch: Int, into canvas: UnsafeMutablePointer<UInt8>,
        workspace: DistortionWorkspace
    ) {
        precondition(workspace.count >= workspaceCount, "the workspace is too small for this elastic distortion")
        let dx = workspace.doubles + smoothingCount
        let dy = dx + Self.canvasSize * Self.canvasSize
        displacements(index: index, epoch: epoch, dx: dx, dy: dy, workspace: workspace)
        Self.render(digit: digit, dx: dx, dy: dy, into: canvas)
    }
}
