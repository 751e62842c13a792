/// The matrices of a Winograd (Toom-Cook) correlation F(m, r) on tiles of alpha = m + r - 1
/// points (4, 6 or 8): m outputs of an r-tap filter from alpha inputs, as
///
///     y = A^T [(G g) ⊙ (B^T d)]        (2-D: Y = A^T [(G g G^T) ⊙ (B^T d B)] A)
///
/// built the way Lavin & Gray ("Fast Algorithms for Convolutional Neural Networks", 2016)
/// and their wincnn generator do, from alpha - 1 finite points and the point at infinity:
/// 0 and ±p for each of (alpha - 2) / 2 positive points p (default 1 for alpha 4, as
/// F(2x2, 3x3); 1, 2 for alpha 6, as F(4x4, 3x3); 1, 2, 1/2 for alpha 8, as NNPACK's
/// F(6x6, 3x3)). With M(x) the product of (x - a) over the finite points:
///   - B^T row j (finite a_j) holds the coefficients of M(x) / (x - a_j), the last row those of M(x);
///   - G row j is (1, a_j, ..., a_j^(r-1)) / prod over l != j of (a_j - a_l); the last row is (0, ..., 0, 1);
///   - A^T column j is (1, a_j, ..., a_j^(m-1)); the last column is (0, ..., 0, 1).
/// B^T depends on the points alone, so one input transform serves every r (m = alpha + 1 - r).
/// The matrices are computed in Double; the kernel's fast paths use their Float
/// coefficients in the pairwise form below (the tests check both against each other).
public struct WinogradTransform: Sendable {
    /// The largest tile: 8 inputs per dimension.
    public static let maxAlpha = 8
    /// Points per tile dimension: 4, 6 or 8.
    public let alpha: Int
    public let outputTile: Int
    public let kernel: Int
    /// The positive points, (alpha - 2) / 2 of them.
    public let pairs: [Double]
    /// The finite points in row order: 0, p1, -p1, p2, -p2, ...
    public var points: [Double] { [0] + pairs.flatMap { [$0, -$0] } }
    public let bT: [[Double]]
    public let g: [[Double]]
    public let aT: [[Double]]
    /// The input transform in Float, pairwise: see `WinogradInputCoefficients`.
    public let input: WinogradInputCoefficients
    /// outputPowers[i * 3 + k] = pairs[k]^i, for i < m (0 past the last pair).
    public let outputPowers: [Float]

    /// The default points of a tile of `alpha`: 1, 2, 1/2 in that order, as many as it takes.
    public static func defaultPairs(alpha: Int) -> [Double] { Array([1, 2, 0.5].prefix((alpha - 2) / 2)) }

    public init(kernel: Int, alpha: Int = 8, pairs: [Double]? = nil) {
        precondition([4, 6, 8].contains(alpha), "Winograd: tiles of 4, 6 or 8 points")
        precondition((2 ... alpha - 1).contains(kernel), "Winograd: kernels of 2 to alpha - 1 taps")
        let pairs = pairs ?? Self.defaultPairs(alpha: alpha)
        precondition(pairs.count == (alpha - 2) / 2, "Winograd: (alpha - 2) / 2 positive points")
        self.alpha = alpha
        self.kernel = kernel
        outputTile = alpha + 1 - kernel
        self.pairs = pairs
        let finite: [Double] = [0] + pairs.flatMap { [$0, -$0] }
        let all = Polynomial.product(of: finite, padTo: alpha)
        var bT: [[Double]] = []
        var g: [[Double]] = []
        for (j, a) in finite.enumerated() {
            var others: [Double] = finite
            others.remove(at: j)
            bT.append(Polynomial.product(of: others, padTo: alpha))
            let f = others.reduce(1.0) { $0 * (a - $1) }
            g.append((0 ..< kernel).map { (power: Int) -> Double in Polynomial.power(a, power) / f })
        }
        bT.append(all)
        g.append((0 ..< kernel).map { (k: Int) -> Double in k == kernel - 1 ? 1 : 0 })
        self.bT = bT
        self.g = g
        let m = outputTile
        var aT: [[Double]] = []
        var outputPowers: [Float] = []
        for i in 0 ..< m {
            let last: Double = i == m - 1 ? 1 : 0
            aT.append(finite.map { Polynomial.power($0, i) } + [last])
            outputPowers += (0 ..< 3).map { k in k < pairs.count ? Float(Polynomial.power(pairs[k], i)) : 0 }
        }
        self.aT = aT
        self.outputPowers = outputPowers
        input = WinogradInputCoefficients(bT: bT)
    }

    /// U = G g G^T for one r x r filter (row-major), into `u[ξ * stride]`, ξ = row * alpha + column.
    public func transformFilter(_ filter: [Double], into u: UnsafeMutablePointer<Float>, stride: Int) {
        let gFlat = g.flatMap { $0 }
        var scratch = [Double](repeating: 0, count: alpha * kernel)
        filter.withUnsafeBufferPointer { f in
            gFlat.withUnsafeBufferPointer { gp in
                scratch.withUnsafeMutableBufferPointer { t in
                    Self.transformFilter(
                        f.baseAddress!, g: gp.baseAddress!, alpha: alpha, kernel: kernel, scratch: t.baseAddress!,
                        into: u, stride: stride)
                }
            }
        }
    }

    /// G f G^T of one r x r filter (row-major) into u[(i * alpha + j) * stride], with G
    /// flattened row-major (alpha x r) and `scratch` holding alpha r values (G f). Allocates nothing.
    @inline(__always)
    static func transformFilter(
        _ filter: UnsafePointer<Double>, g: UnsafePointer<Double>, alpha: Int, kernel: Int,
        scratch: UnsafeMutablePointer<Double>, into u: UnsafeMutablePointer<Float>, stride: Int
    ) {
        for i in 0 ..< alpha {
            for l in 0 ..< kernel {
                var sum = 0.0
                for k in 0 ..< kernel { sum += g[i * kernel + k] * filter[k * kernel + l] }
                scratch[i * kernel + l] = sum
            }
        }
        for i in 0 ..< alpha {
            for j in 0 ..< alpha {
                var sum = 0.0
                for l in 0 ..< kernel { sum += scratch[i * kernel + l] * g[j * kernel + l] }
                u[(i * alpha + j) * stride] = Float(sum)
            }
        }
    }
}

extension WinogradTransform {
    /// G f G^T for eight r x r filters at once (one per lane, row-major in `filter`), each of
    /// the alpha^2 values handed to `emit(ξ, value)`, ξ = i * alpha + j. `g` is G flattened
    /// row-major (alpha x r); `scratch` holds alpha r lanes (G f). In Double: once per load or
    /// training step.
    @inlinable @inline(__always)
    package func transformFilters(
        _ filter: UnsafePointer<SIMD8<Double>>, g: UnsafePointer<Double>,
        scratch gf: UnsafeMutablePointer<SIMD8<Double>>,
        _ emit: (Int, SIMD8<Double>) -> Void
    ) {
        let r = kernel
        for i in 0 ..< alpha {
            for l in 0 ..< r {
                var sum = SIMD8<Double>()
                for k in 0 ..< r { sum += g[i * r + k] * filter[k * r + l] }
                gf[i * r + l] = sum
            }
        }
        for i in 0 ..< alpha {
            for j in 0 ..< alpha {
                var sum = SIMD8<Double>()
                for l in 0 ..< r { sum += gf[i * r + l] * g[j * r + l] }
                emit(i * alpha + j, sum)
            }
        }
    }

    /// The adjoint, G^T d G, for eight alpha x alpha gradients of transformed filters at once
    /// (`d`, ξ = i * alpha + j), each of the r x r values handed to `emit(k * r + l, value)`;
    /// `scratch` holds alpha r lanes (d G).
    @inline(__always)
    func filterGradients(
        _ d: UnsafePointer<SIMD8<Double>>, g: UnsafePointer<Double>, scratch dG: UnsafeMutablePointer<SIMD8<Double>>,
        _ emit: (Int, SIMD8<Double>) -> Void
    ) {
        let r = kernel
        for i in 0 ..< alpha {
            for l in 0 ..< r {
                var sum = SIMD8<Double>()
                for j in 0 ..< alpha { sum += d[i * alpha + j] * g[j * r + l] }
                dG[i * r + l] = sum
            }
        }
        for k in 0 ..< r {
            for l in 0 ..< r {
                var sum = SIMD8<Double>()
                for i in 0 ..< alpha { sum += g[i * r + k] * dG[i * r + l] }
                emit(k * r + l, sum)
            }
        }
    }
}

/// Eight consecutive floats as Double lanes: eight output channels of a filter (or of its
/// gradient) for the transforms above.
@inlinable @inline(__always)
package func doubleLanes(_ source: UnsafePointer<Float>) -> SIMD8<Double> {
    var lanes = SIMD8<Double>()
    for k in 0 ..< 8 { lanes[k] = Double(source[k]) }
    return lanes
}

/// B^T in pairwise form. Row 0 (point 0) is even; rows 2k+1 and 2k+2 (points ±p) share
/// even part E and odd part O, giving E + O and E - O (M(x)/(x+p) is M(x)/(x-p) at -x);
/// the last row (M itself) is odd. Every finite row but row 0 has a zero constant term.
/// Powers past the tile (alpha < 8) and pairs past its count are zero.
public struct WinogradInputCoefficients: Sendable {
    /// Row 0: coefficients of x^0, x^2, x^4, x^6.
    public let zero: SIMD4<Float>
    /// Pair k, rows 2k+1: coefficients of x^1 ... x^6 (index 0 = x^1).
    public let pair1: SIMD8<Float>, pair2: SIMD8<Float>, pair3: SIMD8<Float>
    /// The last row: coefficients of x^1, x^3, x^5, x^7.
    public let infinity: SIMD4<Float>

    public init(
        zero: SIMD4<Float>, pair1: SIMD8<Float>, pair2: SIMD8<Float>, pair3: SIMD8<Float>, infinity: SIMD4<Float>
    ) {
        self.zero = zero
        self.pair1 = pair1
        self.pair2 = pair2
        self.pair3 = pair3
        self.infinity = infinity
    }

    init(bT: [[Double]]) {
        let alpha = bT.count
        func entry(_ j: Int, _ power: Int) -> Float { j < alpha - 1 && power < alpha ? Float(bT[j][power]) : 0 }
        func row(_ j: Int) -> SIMD8<Float> {
            var v = SIMD8<Float>()
            for p in 1 ..< 7 { v[p - 1] = entry(j, p) }
            return v
        }
        zero = SIMD4((0 ..< 4).map { entry(0, 2 * $0) })
        pair1 = row(1)
        pair2 = row(3)
        pair3 = row(5)
        infinity = SIMD4((0 ..< 4).map { 2 * $0 + 1 < alpha ? Float(bT[alpha - 1][2 * $0 + 1]) : 0 })
    }
}

/// Real polynomials as coefficient arrays, lowest power first.
enum Polynomial {
    /// The coefficients of the product of (x - r) over `roots`, zero-padded to `count`.
    static func product(of roots: [Double], padTo count: Int) -> [Double] {
        var c: [Double] = [1]
        for r in roots {
            var next = [Double](repeating: 0, count: c.count + 1)
            for (i, v) in c.enumerated() {
                next[i + 1] += v
                next[i] -= r * v
            }
            c = next
        }
        return c + [Double](repeating: 0, count: count - c.count)
    }

    static func power(_ x: Double, _ n: Int) -> Double { n == 0 ? 1 : (0 ..< n).reduce(1.0) { r, _ in r * x } }
}
