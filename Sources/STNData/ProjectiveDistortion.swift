/// A plane projective map: (x, y) goes to ((a x + b y + c) / w, (d x + e y + f) / w) with
/// w = g x + h y + 1.
public struct Homography: Sendable, Equatable {
    /// a, b, c, d, e, f, g, h.
    public var coefficients: SIMD8<Double>

    public init(coefficients: SIMD8<Double>) {
        self.coefficients = coefficients
    }

    public static let identity = Homography(coefficients: [1, 0, 0, 0, 1, 0, 0, 0])

    /// The image of (x, y); not finite where w is zero (the point goes to infinity).
    @inline(__always)
    public func apply(x: Double, y: Double) -> SIMD2<Double> {
        let m = coefficients
        let w = m[6] * x + m[7] * y + 1
        return SIMD2((m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w)
    }

    /// The homography that takes the four points `from` to the four points `to` (each as
    /// x0, y0, x1, y1, x2, y2, x3, y3), or nil when no invertible one does (three points on a
    /// line). Solves the 8x8 linear system in the coefficients by Gaussian elimination with
    /// partial pivoting, in Double, without allocating.
    public static func mapping(_ from: SIMD8<Double>, to: SIMD8<Double>) -> Homography? {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 8 * 9) { buffer -> Homography? in
            let a = buffer.baseAddress!
            // Row 2i:     a x + b y + c - g x X - h y X = X
            // Row 2i + 1: d x + e y + f - g x Y - h y Y = Y   for (x, y) -> (X, Y).
            for i in 0 ..< 4 {
                let x = from[2 * i]
                let y = from[2 * i + 1]
                let tx = to[2 * i]
                let ty = to[2 * i + 1]
                let r0 = a + 2 * i * 9
                let r1 = r0 + 9
                (r0[0], r0[1], r0[2], r0[3], r0[4], r0[5], r0[6], r0[7], r0[8]) = (
                    x, y, 1, 0, 0, 0, -x * tx, -y * tx, tx
                )
                (r1[0], r1[1], r1[2], r1[3], r1[4], r1[5], r1[6], r1[7], r1[8]) = (
                    0, 0, 0, x, y, 1, -x * ty, -y * ty, ty
                )
            }
            for column in 0 ..< 8 {
                var pivot = column
                for row in column + 1 ..< 8 where abs(a[row * 9 + column]) > abs(a[pivot * 9 + column]) {
                    pivot = row
                }
                guard abs(a[pivot * 9 + column]) > 1e-12 else { return nil }
                if pivot != column {
                    for k in column ..< 9 { a.swapAt(pivot * 9 + k, column * 9 + k) }
                }
                let p = a[column * 9 + column]
                for row in column + 1 ..< 8 {
                    let factor = a[row * 9 + column] / p
                    if factor == 0 { continue }
                    for k in column ..< 9 { a[row * 9 + k] -= factor * a[column * 9 + k] }
                }
            }
            var solution = SIMD8<Double>()
            for row in (0 ..< 8).reversed() {
                var sum = a[row * 9 + 8]
                for k in row + 1 ..< 8 { sum -= a[row * 9 + k] * solution[k] }
                solution[row] = sum / a[row * 9 + row]
            }
            guard (0 ..< 8).allSatisfy({ solution[$0].isFinite }) else { return nil }
            // The system can be regular while the map is not (three points on a line): the
            // 3x3 matrix must be invertible too.
            let m = solution
            let determinant =
                m[0] * (m[4] - m[5] * m[7]) - m[1] * (m[3] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
            guard abs(determinant) > 1e-12 else { return nil }
            return Homography(coefficients: solution)
        }
    }
}

extension UnsafeMutablePointer {
    /// Exchanges elements `i` and `j`.
    @inline(__always)
    fileprivate func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}

/// One image's projective distortion, as the quadrilateral of the digit that the canvas
/// shows: the canvas's corners sample the digit at `corners`, and every other canvas point
/// through the homography that this fixes.
public struct ProjectiveParameters: Sendable, Equatable {
    /// The scale drawn first (already applied in `corners`; kept for reports).
    public var scale: Double
    /// The points of the digit, in its pixel coordinates (pixel edges at integers), that the
    /// canvas's top-left, top-right, bottom-right and bottom-left corners show, as
    /// x0, y0, x1, y1, x2, y2, x3, y3.
    public var corners: SIMD8<Double>

    public init(scale: Double, corners: SIMD8<Double>) {
        self.scale = scale
        self.corners = corners
    }

    /// The corners of a 28x28 image: (0, 0), (28, 0), (28, 28), (0, 28).
    public static let squareCorners: SIMD8<Double> = [0, 0, 28, 0, 28, 28, 0, 28]

    /// No distortion: each canvas corner shows the same corner of the digit.
    public static let identity = ProjectiveParameters(scale: 1, corners: squareCorners)

    /// The map from canvas points to the digit points they show, which rendering samples
    /// through (canvas corner i goes to `corners` i).
    public var inverse: Homography? { Homography.mapping(Self.squareCorners, to: corners) }
    /// The map from the digit to the canvas: where each digit point is drawn.
    public var forward: Homography? { Homography.mapping(corners, to: Self.squareCorners) }
}

/// The projected MNIST (P) of Jaderberg et al. (2015), appendix A.4: each 28x28 digit scaled
/// about its centre by a factor s uniform in [0.75, 1], and each corner of the image moved by
/// independent normal offsets in x and y (zero mean, 5 pixels standard deviation), on a 28x28
/// canvas.
///
/// The corners moved are those of the quadrilateral of the digit that the canvas shows: the
/// square of side 28 / s about (14, 14) (the digit scaled by s), each corner then offset.
/// Each canvas pixel centre is mapped through the homography that takes the canvas's
/// corners to that quadrilateral's, and the digit sampled there bilinearly (zero outside it),
/// rounded to the nearest byte. (Offsetting instead where the digit's corners are drawn
/// loses the digit when the corners nearly form a triangle: at 5 pixels 1 % of t10k came out
/// blank.) A draw whose corners do not bound a convex quadrilateral of the square's
/// orientation (a folded or mirrored warp) is redrawn from the same stream; after 100 such
/// draws, which never happens at 5 pixels, the corners are left unmoved.
public struct ProjectiveDistortion: DigitDistortion {
    public static let canvasSize = RTSDistortion.digitSize
    public static let defaultScaleRange = 0.75 ... 1.0
    /// Standard deviation of each corner coordinate's offset, in pixels.
    public static let defaultCornerNoise = 5.0
    static let maximumDraws = 100
    /// Folded into the seed: P's draws are independent of RTS's with the same seed.
    static let salt: UInt64 = 0x7072_6F6A_6563_7469  // "projecti"

    public let seed: UInt64
    public let scaleRange: ClosedRange<Double>
    public let cornerNoise: Double

    public init(
        seed: UInt64, scaleRange: ClosedRange<Double> = defaultScaleRange, cornerNoise: Double = defaultCornerNoise
    ) {
        precondition(scaleRange.lowerBound > 0 && scaleRange.upperBound.isFinite, "scales are positive and finite")
        precondition(cornerNoise >= 0 && cornerNoise.isFinite, "the corner noise is a finite standard deviation")
        self.seed = seed
        self.scaleRange = scaleRange
        self.cornerNoise = cornerNoise
    }

    /// The distortion of image `index` in epoch `epoch`: one uniform draw for the scale, then
    /// eight normal draws (two uniforms each) for x0, y0, ..., x3, y3, repeated until convex.
    public func parameters(index: Int, epoch: Int = 0) -> ProjectiveParameters {
        var random = PRNG.image(seed: seed, salt: Self.salt, index: index, epoch: epoch)
        let scale = scaleRange.lowerBound + (scaleRange.upperBound - scaleRange.lowerBound) * random.nextUnitDouble()
        let centre = Double(Self.canvasSize) / 2
        let scaled = centre + (ProjectiveParameters.squareCorners - centre) / scale
        for _ in 0 ..< Self.maximumDraws {
            var corners = scaled
            for i in 0 ..< 8 { corners[i] += cornerNoise * random.nextGaussian() }
            if Self.isConvex(corners) { return ProjectiveParameters(scale: scale, corners: corners) }
        }
        return ProjectiveParameters(scale: scale, corners: scaled)
    }

    /// Whether the four corners (x0, y0, ..., x3, y3) bound a convex quadrilateral turning the
    /// same way as the square's own (clockwise on screen, y pointing down).
    public static func isConvex(_ corners: SIMD8<Double>) -> Bool {
        for i in 0 ..< 4 {
            let j = (i + 1) % 4
            let k = (i + 2) % 4
            let e1 = SIMD2(corners[2 * j] - corners[2 * i], corners[2 * j + 1] - corners[2 * i + 1])
            let e2 = SIMD2(corners[2 * k] - corners[2 * j], corners[2 * k + 1] - corners[2 * j + 1])
            guard e1.x * e2.y - e1.y * e2.x > 0 else { return false }
        }
        return true
    }

    /// Warps a 28x28 digit as `p` says into a 28x28 canvas, which is fully overwritten: each
    /// pixel is the digit's bilinear sample at the inverse homography's image of the pixel's
    /// centre, zero outside the digit. The identity parameters copy the digit.
    public static func render(
        digit: UnsafePointer<UInt8>, _ p: ProjectiveParameters, into canvas: UnsafeMutablePointer<UInt8>
    ) {
        let n = canvasSize
        guard let inverse = p.inverse else {
            canvas.initialize(repeating: 0, count: n * n)
            return
        }
        let m = inverse.coefficients
        for y in 0 ..< n {
            let cy = Double(y) + 0.5
            for x in 0 ..< n {
                let cx = Double(x) + 0.5
                let w = m[6] * cx + m[7] * cy + 1
                // Beyond the horizon (only for a folded quadrilateral): nothing of the digit.
                guard w > 0 else {
                    canvas[y * n + x] = 0
                    continue
                }
                let u = (m[0] * cx + m[1] * cy + m[2]) / w
                let v = (m[3] * cx + m[4] * cy + m[5]) / w
                canvas[y * n + x] = Resampling.byte(Resampling.bilinear(digit, x: u, y: v))
            }
        }
    }

    public var name: String { "p" }
    public var canvasSide: Int { Self.canvasSize }
    public var workspaceCount: Int { 0 }

    public func render(
        digit: UnsafePointer<UInt8>, index: Int, epoch: Int, into canvas: UnsafeMutablePointer<UInt8>,
        workspace: DistortionWorkspace
    ) {
        Self.render(digit: digit, parameters(index: index, epoch: epoch), into: canvas)
    }
}
