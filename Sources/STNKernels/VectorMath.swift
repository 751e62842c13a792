/// Elementary functions on SIMD vectors of floats (8 or 16 lanes), for the activations:
/// exp, expm1, tanh, erf and erfc as range reduction plus polynomial, branch-free (both
/// sides of a split are computed and blended). Relative error below 1e-6 over the float
/// range (tests/ActivationTests measure it against Double); NaN propagates; overflow gives
/// +infinity and underflow 0 (through the subnormals), never NaN.
///
/// Generic over the vector type and inlined, so each copy of the kernels specialises them
/// for its own register width. Integer work is done on `V.MaskStorage` (SIMDn<Int32>), the
/// bit pattern of the floats; rounding to an integer uses the 1.5 * 2^23 trick, since
/// baseline x86-64 has no vector round instruction.

/// A vector of float lanes whose comparisons and blends are the concrete SIMD8/SIMD16
/// ones: called from generic code, the standard library's generic `.>` and
/// `replacing(with:where:)` are lane-by-lane loops with a branch per lane (slower than
/// scalar code); as protocol requirements they are witnessed by the concrete,
/// vector-compare-and-blend implementations, so generic kernels specialise to those.
protocol FloatVector: SIMD where Scalar == Float {
    static func .> (a: Self, b: Self) -> SIMDMask<MaskStorage>
    static func .< (a: Self, b: Self) -> SIMDMask<MaskStorage>
    static func .>= (a: Self, b: Self) -> SIMDMask<MaskStorage>
    static func .<= (a: Self, b: Self) -> SIMDMask<MaskStorage>
    static func .== (a: Self, b: Self) -> SIMDMask<MaskStorage>
    static func .!= (a: Self, b: Self) -> SIMDMask<MaskStorage>
    func replacing(with other: Self, where mask: SIMDMask<MaskStorage>) -> Self
    func replacing(with other: Scalar, where mask: SIMDMask<MaskStorage>) -> Self
    mutating func replace(with other: Self, where mask: SIMDMask<MaskStorage>)
    mutating func replace(with other: Scalar, where mask: SIMDMask<MaskStorage>)
    /// 0, 1, 2, ... as integers (argmax indices are MaskStorage vectors).
    static var laneIndices: MaskStorage { get }
    /// `chosen` where `mask`, else `other`, on integer lanes.
    static func select(_ chosen: MaskStorage, where mask: SIMDMask<MaskStorage>, else other: MaskStorage)
        -> MaskStorage
}

extension SIMD8: FloatVector where Scalar == Float {
    @inline(__always) static var laneIndices: SIMD8<Int32> { SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) }
    @inline(__always)
    static func select(_ chosen: SIMD8<Int32>, where mask: SIMDMask<SIMD8<Int32>>, else other: SIMD8<Int32>)
        -> SIMD8<Int32>
    { other.replacing(with: chosen, where: mask) }
}

extension SIMD16: FloatVector where Scalar == Float {
    @inline(__always) static var laneIndices: SIMD16<Int32> {
        SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    }
    @inline(__always)
    static func select(_ chosen: SIMD16<Int32>, where mask: SIMDMask<SIMD16<Int32>>, else other: SIMD16<Int32>)
        -> SIMD16<Int32>
    { other.replacing(with: chosen, where: mask) }
}

@inline(__always)
func floatBits<V: FloatVector>(_ x: V) -> V.MaskStorage {
    unsafeBitCast(x, to: V.MaskStorage.self)
}

@inline(__always)
func fromBits<V: FloatVector>(_ b: V.MaskStorage, as _: V.Type = V.self) -> V {
    unsafeBitCast(b, to: V.self)
}

/// |x| (clears the sign bit; NaN stays NaN).
@inline(__always)
func vabs<V: FloatVector>(_ x: V) -> V {
    fromBits(floatBits(x) & V.MaskStorage(repeating: 0x7FFF_FFFF))
}

/// The sign bit of `sign` put on `x` (x must have a clear sign bit).
@inline(__always)
func withSign<V: FloatVector>(_ x: V, of sign: V) -> V {
    fromBits(floatBits(x) | (floatBits(sign) & V.MaskStorage(repeating: V.MaskStorage.Scalar.min)))
}

/// a * b + c with a fused multiply-add where the copy has FMA, else multiply then add.
@inline(__always)
func vfma<V: FloatVector>(_ a: V, _ b: V, _ c: V) -> V { multiplyAdd(c, a, b) }

/// The upper limit of `x`, a compare and a blend (NaN stays NaN).
@inline(__always)
func capped<V: FloatVector>(_ x: V, _ limit: Float) -> V {
    x.replacing(with: V(repeating: limit), where: x .> V(repeating: limit))
}

/// exp(hi + lo), where lo is a small correction to hi (0 for a plain exp): Cephes' expf,
/// n = round(x / ln 2), r = x - n ln 2 (ln 2 in two parts, the first exact in products with
/// n), a degree-7 polynomial in r, then 2^n as two factors so that results from the
/// subnormals (x down to -104) to overflow (x above 88.72: +infinity) come out right.
@inline(__always)
func vectorExp<V: FloatVector>(_ hi: V, _ lo: V) -> V {
    var x = capped(hi, 88.8)
    x.replace(with: V(repeating: -104), where: x .< V(repeating: -104))
    let magic = V(repeating: 12_582_912)  // 1.5 * 2^23: adding it rounds to an integer
    let t = vfma(x, V(repeating: 1.442_695_04), magic)
    let n = t - magic
    var r = x - n * V(repeating: 0.693_359_375)
    r = r - n * V(repeating: -2.121_944_40e-4)
    r = r + lo
    let z = r * r
    var p = V(repeating: 1.987_569_150e-4)
    p = vfma(p, r, V(repeating: 1.398_199_951e-3))
    p = vfma(p, r, V(repeating: 8.333_451_907e-3))
    p = vfma(p, r, V(repeating: 4.166_579_589e-2))
    p = vfma(p, r, V(repeating: 1.666_666_546e-1))
    p = vfma(p, r, V(repeating: 5.000_000_120e-1))
    let y = vfma(p, z, r) + V(repeating: 1)
    // n from t's bits: t's mantissa holds 0x400000 + n.
    let k = floatBits(t) &- V.MaskStorage(repeating: 0x4B40_0000)
    let k1 = k &>> 1
    let k2 = k &- k1
    let s1: V = fromBits((k1 &+ 127) &<< 23)
    let s2: V = fromBits((k2 &+ 127) &<< 23)
    return (y * s1 * s2).replacing(with: hi, where: hi .!= hi)
}

@inline(__always)
func vectorExp<V: FloatVector>(_ x: V) -> V { vectorExp(x, V(repeating: 0)) }

/// exp(x) - 1 without cancellation near 0: its Taylor series (to x^9) for |x| < 0.5.
@inline(__always)
func vectorExpm1<V: FloatVector>(_ x: V) -> V {
    var p = V(repeating: 1 / 362_880)
    p = vfma(p, x, V(repeating: 1 / 40_320))
    p = vfma(p, x, V(repeating: 1 / 5_040))
    p = vfma(p, x, V(repeating: 1 / 720))
    p = vfma(p, x, V(repeating: 1 / 120))
    p = vfma(p, x, V(repeating: 1 / 24))
    p = vfma(p, x, V(repeating: 1 / 6))
    p = vfma(p, x, V(repeating: 0.5))
    let small = vfma(p * x, x, x)
    let large = vectorExp(x) - V(repeating: 1)
    return large.replacing(with: small, where: vabs(x) .< V(repeating: 0.5))
}

/// tanh: Cephes' odd polynomial for |x| < 0.625, else 1 - 2 / (exp(2|x|) + 1); the sign
/// is put back bitwise (tanh(-0) = -0).
@inline(__always)
func vectorTanh<V: FloatVector>(_ x: V) -> V {
    let a = vabs(x)
    let z = a * a
    var p = V(repeating: -5.704_988_727_45e-3)
    p = vfma(p, z, V(repeating: 2.063_908_879_54e-2))
    p = vfma(p, z, V(repeating: -5.373_971_555_31e-2))
    p = vfma(p, z, V(repeating: 1.333_144_220_36e-1))
    p = vfma(p, z, V(repeating: -3.333_328_194_22e-1))
    let small = vfma(p * z, a, a)
    let e = vectorExp(capped(a, 10) * V(repeating: 2))
    let large = V(repeating: 1) - V(repeating: 2) / (e + V(repeating: 1))
    return withSign(large.replacing(with: small, where: a .< V(repeating: 0.625)), of: x)
}

/// The logistic function and its complement, both without cancellation:
/// with e = exp(-|x|), sigma = 1 / (1 + e) for x >= 0 and e / (1 + e) below, and
/// 1 - sigma the other one.
@inline(__always)
func vectorSigmoid<V: FloatVector>(_ x: V) -> (sigma: V, complement: V) {
    let e = vectorExp(-vabs(x))
    let r = V(repeating: 1) / (V(repeating: 1) + e)
    let er = e * r
    let negative = x .< V(repeating: 0)
    return (r.replacing(with: er, where: negative), er.replacing(with: r, where: negative))
}

/// erf(x) / x for |x| < 1 as a polynomial in x^2 (degree 6, Cephes' form, refitted).
@inline(__always)
func erfSmall<V: FloatVector>(_ x: V) -> V {
    let z = x * x
    var p = V(repeating: 7.853_903_662e-5)
    p = vfma(p, z, V(repeating: -8.010_207_675e-4))
    p = vfma(p, z, V(repeating: 5.188_329_611e-3))
    p = vfma(p, z, V(repeating: -2.685_381_286e-2))
    p = vfma(p, z, V(repeating: 1.128_358_543e-1))
    p = vfma(p, z, V(repeating: -3.761_262_596e-1))
    p = vfma(p, z, V(repeating: 1.128_379_107))
    return x * p
}

/// exp(-scale * a * a) for a >= 0 (scale 1 or 0.5), with a * a's rounding kept: a is split
/// into its top 12 bits ah (whose square is exact) and the rest al, and
/// a^2 = ah^2 + al (a + ah) goes to `vectorExp` as a sum. Without it, the relative error
/// would grow as 2 a^2 ulp (1e-5 at a = 9).
@inline(__always)
func expNegativeSquare<V: FloatVector>(_ a: V, scale: Float) -> V {
    let x = capped(a, 20)
    let ah: V = fromBits(floatBits(x) & V.MaskStorage(repeating: -4096))
    let al = x - ah
    let s = V(repeating: -scale)
    return vectorExp(ah * ah * s, al * (x + ah) * s)
}

/// erfc(u) for u >= 0 given e = exp(-u^2): 1 - erf(u) below 0.75 (no worse than 2.5-fold
/// cancellation), e * P(1 / (u + 1)) above (P a degree-10 fit of exp(u^2) erfc(u) on
/// [0.75, infinity), relative error 2.4e-7 in float).
@inline(__always)
func erfcPositive<V: FloatVector>(_ u: V, expNegativeSquare e: V) -> V {
    let small = V(repeating: 1) - erfSmall(u)
    let s = V(repeating: 1) / (u + V(repeating: 1))
    var p = V(repeating: -1.705_609_679)
    p = vfma(p, s, V(repeating: 6.469_838_619))
    p = vfma(p, s, V(repeating: -9.672_234_535))
    p = vfma(p, s, V(repeating: 6.670_388_222))
    p = vfma(p, s, V(repeating: -1.334_763_050))
    p = vfma(p, s, V(repeating: -5.406_664_014e-1))
    p = vfma(p, s, V(repeating: -2.948_907_018e-1))
    p = vfma(p, s, V(repeating: 2.825_955_153e-1))
    p = vfma(p, s, V(repeating: 5.641_820_431e-1))
    p = vfma(p, s, V(repeating: 5.641_896_129e-1))
    let large = e * (p * s)
    return large.replacing(with: small, where: u .< V(repeating: 0.75))
}

/// erf(x): the odd polynomial below |x| = 0.75, else +-(1 - erfc(|x|)).
@inline(__always)
func vectorErf<V: FloatVector>(_ x: V) -> V {
    let a = vabs(x)
    let large = V(repeating: 1) - erfcPositive(a, expNegativeSquare: expNegativeSquare(a, scale: 1))
    return withSign(vabs(erfSmall(x)).replacing(with: large, where: .!(a .< V(repeating: 0.75))), of: x)
}

/// The standard normal's distribution function Phi(x) = erfc(-x / sqrt 2) / 2 and density
/// phi(x), the two halves of GELU: exact erfc on the negative side (1 + erf(x / sqrt 2)
/// would cancel), exp(-x^2 / 2) shared by both.
@inline(__always)
func vectorNormal<V: FloatVector>(_ x: V) -> (cdf: V, pdf: V) {
    let a = vabs(x)
    let e = expNegativeSquare(a, scale: 0.5)
    let half = V(repeating: 0.5) * erfcPositive(a * V(repeating: 0.707_106_781_186_547_524), expNegativeSquare: e)
    let cdf = (V(repeating: 1) - half).replacing(with: half, where: x .< V(repeating: 0))
    return (cdf, e * V(repeating: 0.398_942_280_401_432_678))
}
