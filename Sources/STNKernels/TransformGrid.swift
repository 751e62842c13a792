/// A grid generator for one transform and one output size: theta to a height x width x 2
/// sampling grid in normalised coordinates (x then y, as `F.affine_grid` writes it), and
/// its backward pass. What depends only on the size (base coordinates, the thin-plate
/// spline's matrix) is computed once here, at plan time.
///
/// Every transform is total: any theta, NaN and infinities included, gives a grid without
/// trapping (the sampler then treats non-finite points as outside the image).
public struct TransformGrid: Sendable {
    public enum Kind: Sendable, Equatable {
        case attention, affine, projective, thinPlateSpline
    }

    public let kind: Kind
    public let height: Int, width: Int
    public let alignCorners: Bool
    /// Normalised coordinates of the output's columns and rows.
    let xs: [Float]
    let ys: [Float]
    /// Thin-plate spline: grid = matrix (H*W x 16) times the 16 target points.
    let splineMatrix: [Float]

    /// The projective transform's smallest |w| (the third homogeneous coordinate).
    public static let projectiveMinimumW: Float = 1e-3
    /// The thin-plate spline's control points per side (a 4 x 4 grid).
    public static let splineSide = 4

    public init(kind: Kind, height: Int, width: Int, alignCorners: Bool) {
        self.kind = kind
        self.height = height
        self.width = width
        self.alignCorners = alignCorners
        xs = (0 ..< width).map { Transformer.normalised($0, width, alignCorners: alignCorners) }
        ys = (0 ..< height).map { Transformer.normalised($0, height, alignCorners: alignCorners) }
        splineMatrix =
            kind == .thinPlateSpline
            ? TransformGrid.splineMatrix(xs: xs.map(Double.init), ys: ys.map(Double.init)) : []
    }

    public var parameterCount: Int {
        switch kind {
        case .attention: return 3
        case .affine: return 6
        case .projective: return 8
        case .thinPlateSpline: return 2 * TransformGrid.splineSide * TransformGrid.splineSide
        }
    }

    // MARK: Forward

    public func forward(theta t: UnsafePointer<Float>, grid: UnsafeMutablePointer<Float>) {
        switch kind {
        case .affine:
            Transformer.affineGrid(theta: t, height: height, width: width, alignCorners: alignCorners, into: grid)
        case .attention:
            for y in 0 ..< height {
                for x in 0 ..< width {
                    grid[(y * width + x) * 2] = t[0] * xs[x] + t[1]
                    grid[(y * width + x) * 2 + 1] = t[0] * ys[y] + t[2]
                }
            }
        case .projective:
            for y in 0 ..< height {
                for x in 0 ..< width {
                    let u = t[0] * xs[x] + t[1] * ys[y] + t[2]
                    let v = t[3] * xs[x] + t[4] * ys[y] + t[5]
                    let w = guarded(t[6] * xs[x] + t[7] * ys[y] + 1).value
                    grid[(y * width + x) * 2] = u / w
                    grid[(y * width + x) * 2 + 1] = v / w
                }
            }
        case .thinPlateSpline:
            let points = TransformGrid.splineSide * TransformGrid.splineSide
            splineMatrix.withUnsafeBufferPointer { m in
                for p in 0 ..< height * width {
                    var gx: Float = 0
                    var gy: Float = 0
                    for k in 0 ..< points {
                        gx += m[p * points + k] * t[2 * k]
                        gy += m[p * points + k] * t[2 * k + 1]
                    }
                    grid[2 * p] = gx
                    grid[2 * p + 1] = gy
                }
            }
        }
    }

    /// w kept at least `projectiveMinimumW` from zero (0 becomes +minimum), and whether it was
    /// moved (then no gradient flows through it).
    @inline(__always)
    func guarded(_ w: Float) -> (value: Float, clamped: Bool) {
        if abs(w) < TransformGrid.projectiveMinimumW {
            return (w < 0 ? -TransformGrid.projectiveMinimumW : TransformGrid.projectiveMinimumW, true)
        }
        return (w, false)
    }

    // MARK: Backward

    /// dTheta (`parameterCount` values, overwritten) from dGrid, summed in Double.
    public func backward(
        theta t: UnsafePointer<Float>, dGrid: UnsafePointer<Float>, dTheta: UnsafeMutablePointer<Float>
    ) {
        switch kind {
        case .affine:
            Transformer.affineGridBackward(
                dGrid: dGrid, height: height, width: width, alignCorners: alignCorners, dTheta: dTheta)
        case .attention:
            var ds = 0.0
            var dx = 0.0
            var dy = 0.0
            for y in 0 ..< height {
                for x in 0 ..< width {
                    let gx = Double(dGrid[(y * width + x) * 2])
                    let gy = Double(dGrid[(y * width + x) * 2 + 1])
                    ds += gx * Double(xs[x]) + gy * Double(ys[y])
                    dx += gx
                    dy += gy
                }
            }
            dTheta[0] = Float(ds)
            dTheta[1] = Float(dx)
            dTheta[2] = Float(dy)
        case .projective:
            var d = [Double](repeating: 0, count: 8)
            for y in 0 ..< height {
                for x in 0 ..< width {
                    let xn = Double(xs[x])
                    let yn = Double(ys[y])
                    let u = Double(t[0] * xs[x] + t[1] * ys[y] + t[2])
                    let v = Double(t[3] * xs[x] + t[4] * ys[y] + t[5])
                    let (wf, clamped) = guarded(t[6] * xs[x] + t[7] * ys[y] + 1)
                    let w = Double(wf)
                    let gx = Double(dGrid[(y * width + x) * 2])
                    let gy = Double(dGrid[(y * width + x) * 2 + 1])
                    let du = gx / w
                    let dv = gy / w
                    let dw = clamped ? 0 : -(gx * u + gy * v) / (w * w)
                    d[0] += du * xn
                    d[1] += du * yn
                    d[2] += du
                    d[3] += dv * xn
                    d[4] += dv * yn
                    d[5] += dv
                    d[6] += dw * xn
                    d[7] += dw * yn
                }
            }
            for i in 0 ..< 8 { dTheta[i] = Float(d[i]) }
        case .thinPlateSpline:
            let points = TransformGrid.splineSide * TransformGrid.splineSide
            splineMatrix.withUnsafeBufferPointer { m in
                for k in 0 ..< points {
                    var dx = 0.0
                    var dy = 0.0
                    for p in 0 ..< height * width {
                        dx += Double(m[p * points + k]) * Double(dGrid[2 * p])
                        dy += Double(m[p * points + k]) * Double(dGrid[2 * p + 1])
                    }
                    dTheta[2 * k] = Float(dx)
                    dTheta[2 * k + 1] = Float(dy)
                }
            }
        }
    }

    // MARK: Thin-plate spline

    /// The base control points: a 4 x 4 grid over [-1, 1]^2, row-major from the top left.
    public static func controlPoints() -> [(x: Double, y: Double)] {
        let side = splineSide
        let coordinates = (0 ..< side).map { -1 + 2 * Double($0) / Double(side - 1) }
        return coordinates.flatMap { y in coordinates.map { x in (x, y) } }
    }

    /// U(r) = r^2 log r^2, U(0) = 0.
    static func radialBasis(_ dx: Double, _ dy: Double) -> Double {
        let r2 = dx * dx + dy * dy
        return r2 > 0 ? r2 * log(r2) : 0
    }

    /// The (H*W x 16) matrix that maps the 16 target points to the grid: row(p) L^-1 with
    /// row(p) = [U(|p - c_1|) ... U(|p - c_16|), 1, x, y] and L = [[K, P], [P^T, 0]] the
    /// spline's 19 x 19 system, solved once in Double.
    static func splineMatrix(xs: [Double], ys: [Double]) -> [Float] {
        let control = controlPoints()
        let n = control.count
        let size = n + 3
        // L, then solve L X = I for the first n columns of L^-1 (Gauss-Jordan, partial pivoting).
        var l = [Double](repeating: 0, count: size * size)
        for i in 0 ..< n {
            for j in 0 ..< n {
                l[i * size + j] = radialBasis(control[i].x - control[j].x, control[i].y - control[j].y)
            }
            let row = [1, control[i].x, control[i].y]
            for j in 0 ..< 3 {
                l[i * size + n + j] = row[j]
                l[(n + j) * size + i] = row[j]
            }
        }
        var inverse = [Double](repeating: 0, count: size * size)
        for i in 0 ..< size { inverse[i * size + i] = 1 }
        for column in 0 ..< size {
            var pivot = column
            for r in column + 1 ..< size where abs(l[r * size + column]) > abs(l[pivot * size + column]) { pivot = r }
            if pivot != column {
                for c in 0 ..< size {
                    l.swapAt(pivot * size + c, column * size + c)
                    inverse.swapAt(pivot * size + c, column * size + c)
                }
            }
            let scale = 1 / l[column * size + column]
            for c in 0 ..< size {
                l[column * size + c] *= scale
                inverse[column * size + c] *= scale
            }
            for r in 0 ..< size where r != column {
                let factor = l[r * size + column]
                if factor == 0 { continue }
                for c in 0 ..< size {
                    l[r * size + c] -= factor * l[column * size + c]
                    inverse[r * size + c] -= factor * inverse[column * size + c]
                }
            }
        }
        var matrix = [Float](repeating: 0, count: xs.count * ys.count * n)
        for (yi, y) in ys.enumerated() {
            for (xi, x) in xs.enumerated() {
                let row = control.map { radialBasis(x - $0.x, y - $0.y) } + [1, x, y]
                let p = yi * xs.count + xi
                for k in 0 ..< n {
                    var sum = 0.0
                    for j in 0 ..< size { sum += row[j] * inverse[j * size + k] }
                    matrix[p * n + k] = Float(sum)
                }
            }
        }
        return matrix
    }
}

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif
