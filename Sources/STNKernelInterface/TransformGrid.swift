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
    package let xs: [Float]
    package let ys: [Float]
    /// Thin-plate spline: grid = matrix (H*W x 16) times the 16 target points.
    package let splineMatrix: [Float]

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
