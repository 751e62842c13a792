import STNKernelInterface

/// The Winograd convolution (`WinogradConv2D`): the weight transform, the forward pass and
/// its adjoint, the backward pass.
extension WinogradConv2D {
    /// Direct packing `[K][outCp]` (K = (ky, kx, ci)) -> U `[alpha^2][inC][outCp]`.
    func transformWeights(packed: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>) {
        let r = shape.kernelH
        let inC = shape.inC
        let outCp = shape.outCp
        u.initialize(repeating: 0, count: weightFloats)
        // Once per model load, but on every process's start-up: eight output channels at a
        // time (contiguous in the packing) in Double lanes, G f G^T with no dependency chains
        // of one lane, and nothing allocated per filter.
        let alpha = transform.alpha
        let g = transform.g.flatMap { $0 }  // alpha x r, row-major
        let filter = UnsafeMutablePointer<SIMD8<Double>>.allocate(capacity: r * r + alpha * r)
        defer { filter.deallocate() }
        let gf = filter + r * r  // G f, alpha x r
        for ci in 0 ..< realInC {
            var co = 0
            while co < shape.outC {  // outCp is a multiple of 8; the padding channels stay zero
                for tap in 0 ..< r * r {
                    let source = packed + (tap * inC + ci) * outCp + co
                    filter[tap] = doubleLanes(source)
                }
                g.withUnsafeBufferPointer { g in
                    transform.transformFilters(filter, g: g.baseAddress!, scratch: gf) { xi, value in
                        let target = u + xi * inC * outCp + ci * outCp + co
                        for k in 0 ..< 8 { target[k] = Float(value[k]) }
                    }
                }
                co += 8
            }
        }
    }

    /// output = bias + input (*) weights, as `Conv2DShape.forward`. `scratch` holds `scratchFloats`.
    func forward(
        input: UnsafePointer<Float>, u: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
    ) {
        let inC = shape.inC
        let outCp = shape.outCp
        let m = transform.outputTile
        transform.outputPowers.withUnsafeBufferPointer { powers in
            var ty0 = 0
            while ty0 < tilesY {
                let tiles = min(tileRowsPerBlock, tilesY - ty0) * tilesX
                let v = scratch
                let product = scratch + transformedPositions * tiles * inC
                // 1. Input transform, tile t of the block at V[ξ][t][c].
                transformInputTiles(input, firstRow: ty0, tiles: tiles, into: v)
                // 2. One GEMM per transformed position.
                for xi in 0 ..< transformedPositions {
                    gemmAccumulate(
                        m: tiles, n: outCp, a: v + xi * tiles * inC, rows: .linear(step: inC),
                        b: u + xi * inC * outCp, reduction: .contiguous(realInC, ldb: outCp),
                        c: product + xi * tiles * outCp, ldc: outCp, start: .zero)
                }
                // 3. Output transform.
                transformOutputTiles(
                    product, shape: shape, alpha: transform.alpha, tilesX: tilesX, firstRow: ty0, tiles: tiles, m: m,
                    powers: powers, bias: bias, into: output)
                ty0 += tileRowsPerBlock
            }
        }
    }

    /// The backward pass of `forward`, as its adjoint in the transformed domain (Lavin &
    /// Gray 2016), per block of tile rows:
    ///   1. dM = A dY A^T per tile (dY its m x m output gradient, zero past the image), and V
    ///      recomputed from the input as in `forward`;
    ///   2. dU[ξ] += V[ξ]^T dM[ξ]: the gradient of the transformed weights, summed over
    ///      tiles (and over every image the caller runs; `addWeightGradient` maps it back
    ///      to the filters once);
    ///   3. with `dInput`: dV[ξ] = dM[ξ] U[ξ]^T, then B dV B^T added onto each tile's alpha x
    ///      alpha input patch (neighbouring patches overlap).
    /// `dInput` (inputCount floats) is overwritten; `dBias` (outCp) gets the sum of dY;
    /// `scratch` holds `backwardScratchFloats`. alpha^2 x tiles x inC x outC products per pass
    /// against the direct product's positions x r^2 x inC x outC. Nothing here allocates.
    func backward(
        input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>, uT: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, dU: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
        dInput: UnsafeMutablePointer<Float>?
    ) {
        let inC = shape.inC
        let outCp = shape.outCp
        let m = transform.outputTile
        let alpha = transform.alpha
        let coefficients = transform.input
        addChannelSums(dOutput, positions: shape.positions, channels: outCp, into: dBias)
        dInput?.initialize(repeating: 0, count: shape.inputCount)
        let rowsPerBlock = backwardTileRowsPerBlock
        transform.outputPowers.withUnsafeBufferPointer { powers in
            var ty0 = 0
            while ty0 < tilesY {
                let tiles = min(rowsPerBlock, tilesY - ty0) * tilesX
                let v = scratch
                let dm = scratch + transformedPositions * tiles * inC
                // 1. V[ξ][t][ci] and dM[ξ][t][co].
                transformInputTiles(input, firstRow: ty0, tiles: tiles, into: v)
                transformOutputGradientTiles(
                    dOutput, shape: shape, alpha: alpha, tilesX: tilesX, firstRow: ty0, tiles: tiles, m: m,
                    powers: powers, into: dm)
                // 2. dU[ξ][ci][co] += sum over tiles of V[ξ][t][ci] dM[ξ][t][co].
                for xi in 0 ..< transformedPositions {
                    gemmAccumulate(
                        m: realInC, n: outCp, a: v + xi * tiles * inC, rows: .linear(step: 1),
                        b: dm + xi * tiles * outCp,
                        reduction: Reduction(
                            n1: 1, n2: tiles, aStride1: 0, aStride2: inC, bStride1: 0, bStride2: outCp),
                        c: dU + xi * inC * outCp, ldc: outCp)
                }
                // 3. dV[ξ][t][ci] = sum over co of dM[ξ][t][co] U[ξ][ci][co], in V's place; then the patches.
                if let dInput {
                    for xi in 0 ..< transformedPositions {
                        gemmAccumulate(
                            m: tiles, n: inC, a: dm + xi * tiles * outCp, rows: .linear(step: outCp),
                            b: uT + xi * outCp * inC, reduction: .contiguous(shape.outC, ldb: inC),
                            c: v + xi * tiles * inC, ldc: inC, start: .zero)
                    }
                    for t in 0 ..< tiles {
                        let y0 = (ty0 + t / tilesX) * m
                        let x0 = (t % tilesX) * m
                        let target = OutputTile(
                            origin: dInput + (y0 * shape.inW + x0) * inC, rowStride: shape.inW * inC,
                            pixelStride: inC, rows: min(alpha, shape.inH - y0), columns: min(alpha, shape.inW - x0))
                        forEachChannelVector(inC) { c, lanes in
                            if lanes == Lane.scalarCount {
                                inputAdjointTile(
                                    Lane.self, alpha: alpha, v + t * inC + c, tiles * inC, coefficients, target, c)
                            } else {
                                inputAdjointTile(
                                    SIMD8<Float>.self, alpha: alpha, v + t * inC + c, tiles * inC, coefficients, target,
                                    c)
                            }
                        }
                    }
                }
                ty0 += rowsPerBlock
            }
        }
    }

    /// V = B^T d B of `tiles` tiles from tile row `ty0`, tile t at `v[ξ][t][c]`.
    func transformInputTiles(
        _ input: UnsafePointer<Float>, firstRow ty0: Int, tiles: Int, into v: UnsafeMutablePointer<Float>
    ) {
        let inC = shape.inC
        let m = transform.outputTile
        let alpha = transform.alpha
        let coefficients = transform.input
        for t in 0 ..< tiles {
            let y0 = (ty0 + t / tilesX) * m
            let x0 = (t % tilesX) * m
            let patch = TilePatch(
                origin: input + (y0 * shape.inW + x0) * inC, rowStride: shape.inW * inC, pixelStride: inC,
                rows: min(alpha, shape.inH - y0), columns: min(alpha, shape.inW - x0))
            forEachChannelVector(inC) { c, lanes in
                if lanes == Lane.scalarCount {
                    inputTile(Lane.self, alpha: alpha, patch, c, coefficients, v + t * inC + c, tiles * inC)
                } else {
                    inputTile(SIMD8<Float>.self, alpha: alpha, patch, c, coefficients, v + t * inC + c, tiles * inC)
                }
            }
        }
    }
}

/// Calls `body(c, lanes)` over `count` channels (a multiple of 8): full registers, then a last 8.
@inline(__always)
func forEachChannelVector(_ count: Int, _ body: (Int, Int) -> Void) {
    var c = 0
    while c + Lane.scalarCount <= count {
        body(c, Lane.scalarCount)
        c += Lane.scalarCount
    }
    while c < count {
        body(c, 8)
        c += 8
    }
}

/// output = bias + A^T M A for `tiles` m x m output tiles, `tilesX` to a row, from tile row
/// `ty0`; M `[ξ][t][outCp]` (ξ < alpha^2), worked in place.
func transformOutputTiles(
    _ product: UnsafeMutablePointer<Float>, shape: Conv2DShape, alpha: Int, tilesX: Int, firstRow ty0: Int,
    tiles: Int, m: Int, powers: UnsafeBufferPointer<Float>, bias: UnsafePointer<Float>,
    into output: UnsafeMutablePointer<Float>
) {
    let outCp = shape.outCp
    for t in 0 ..< tiles {
        let y0 = (ty0 + t / tilesX) * m
        let x0 = (t % tilesX) * m
        let target = OutputTile(
            origin: output + (y0 * shape.outW + x0) * outCp, rowStride: shape.outW * outCp, pixelStride: outCp,
            rows: min(m, shape.outH - y0), columns: min(m, shape.outW - x0))
        forEachChannelVector(outCp) { c, lanes in
            let p = product + t * outCp + c
            if lanes == Lane.scalarCount {
                outputTile(Lane.self, alpha: alpha, p, tiles * outCp, m, powers, bias + c, target, c)
            } else {
                outputTile(SIMD8<Float>.self, alpha: alpha, p, tiles * outCp, m, powers, bias + c, target, c)
            }
        }
    }
}

/// dM = A dY A^T for the same tiles' output gradients (zero past the image), into `dm[ξ][t][outCp]`.
func transformOutputGradientTiles(
    _ dOutput: UnsafePointer<Float>, shape: Conv2DShape, alpha: Int, tilesX: Int, firstRow ty0: Int, tiles: Int,
    m: Int, powers: UnsafeBufferPointer<Float>, into dm: UnsafeMutablePointer<Float>
) {
    let outCp = shape.outCp
    for t in 0 ..< tiles {
        let y0 = (ty0 + t / tilesX) * m
        let x0 = (t % tilesX) * m
        let gradient = TilePatch(
            origin: dOutput + (y0 * shape.outW + x0) * outCp, rowStride: shape.outW * outCp, pixelStride: outCp,
            rows: min(m, shape.outH - y0), columns: min(m, shape.outW - x0))
        forEachChannelVector(outCp) { c, lanes in
            if lanes == Lane.scalarCount {
                outputAdjointTile(Lane.self, alpha: alpha, gradient, c, m, powers, dm + t * outCp + c, tiles * outCp)
            } else {
                outputAdjointTile(
                    SIMD8<Float>.self, alpha: alpha, gradient, c, m, powers, dm + t * outCp + c, tiles * outCp)
            }
        }
    }
}

/// An input tile's alpha x alpha patch; pixels past `rows` x `columns` (the image's edge) read as zero.
struct TilePatch {
    let origin: UnsafePointer<Float>
    let rowStride: Int, pixelStride: Int
    let rows: Int, columns: Int
}

/// The part of an output tile inside the image.
struct OutputTile {
    let origin: UnsafeMutablePointer<Float>
    let rowStride: Int, pixelStride: Int
    let rows: Int, columns: Int
}

/// Up to eight vectors: one line of a tile (the first alpha of them used, the rest zero).
typealias TileLine<V: SIMD> = (V, V, V, V, V, V, V, V) where V.Scalar == Float

// The tile functions below come in two forms: one taking the tile's `alpha` at run time,
// which calls the other, `points: a`, with a literal 4, 6 or 8, so that each inlined copy
// unrolls its loops and drops the terms of the points a smaller tile does not have.

/// B^T d B for one channel vector of one tile: down each column, then along each row, the
/// second pass in place in V (`v[ξ * stride]`, ξ = row * alpha + column).
@inline(__always)
func inputTile<V: SIMD>(
    _: V.Type, alpha: Int, _ patch: TilePatch, _ c: Int, _ k: WinogradInputCoefficients,
    _ v: UnsafeMutablePointer<Float>, _ stride: Int
) where V.Scalar == Float {
    switch alpha {
    case 4: inputTile(V.self, points: 4, patch, c, k, v, stride)
    case 6: inputTile(V.self, points: 6, patch, c, k, v, stride)
    default: inputTile(V.self, points: 8, patch, c, k, v, stride)
    }
}

@inline(__always)
func inputTile<V: SIMD>(
    _: V.Type, points a: Int, _ patch: TilePatch, _ c: Int, _ k: WinogradInputCoefficients,
    _ v: UnsafeMutablePointer<Float>, _ stride: Int
) where V.Scalar == Float {
    for x in 0 ..< a {
        let column = patch.origin + x * patch.pixelStride + c
        let inside = x < patch.columns
        @inline(__always) func at(_ y: Int) -> V {
            guard y < a && inside && y < patch.rows else { return .zero }
            return load(column + y * patch.rowStride)
        }
        let w = transformLine(a, (at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7)), k)
        storeLine(a, w, v + x * stride, a * stride)
    }
    for i in 0 ..< a {
        let row = v + i * a * stride
        @inline(__always) func at(_ x: Int) -> V { x < a ? load(row + x * stride) : .zero }
        storeLine(a, transformLine(a, (at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7)), k), row, stride)
    }
}

/// Stores the first `a` vectors of `w`, `stride` apart.
@inline(__always)
func storeLine<V: SIMD>(_ a: Int, _ w: TileLine<V>, _ p: UnsafeMutablePointer<Float>, _ stride: Int)
where V.Scalar == Float {
    store(w.0, p)
    store(w.1, p + stride)
    store(w.2, p + 2 * stride)
    store(w.3, p + 3 * stride)
    if a > 4 {
        store(w.4, p + 4 * stride)
        store(w.5, p + 5 * stride)
    }
    if a > 6 {
        store(w.6, p + 6 * stride)
        store(w.7, p + 7 * stride)
    }
}

/// B^T d for a line of `a` vectors, pairwise (see `WinogradInputCoefficients`): in the
/// order of the points 0, p1, -p1, p2, -p2, ..., infinity (at a - 1).
@inline(__always)
func transformLine<V: SIMD>(_ a: Int, _ d: TileLine<V>, _ k: WinogradInputCoefficients) -> TileLine<V>
where V.Scalar == Float {
    @inline(__always) func pair(_ c: SIMD8<Float>) -> (V, V) {
        var even = d.2 * c[1]
        var odd = d.1 * c[0]
        if a > 4 {
            even = multiplyAdd(even, d.4, c[3])
            odd = multiplyAdd(odd, d.3, c[2])
        }
        if a > 6 {
            even = multiplyAdd(even, d.6, c[5])
            odd = multiplyAdd(odd, d.5, c[4])
        }
        return (even + odd, even - odd)
    }
    var w0 = multiplyAdd(d.0 * k.zero[0], d.2, k.zero[1])
    var last = multiplyAdd(d.1 * k.infinity[0], d.3, k.infinity[1])
    if a > 4 {
        w0 = multiplyAdd(w0, d.4, k.zero[2])
        last = multiplyAdd(last, d.5, k.infinity[2])
    }
    if a > 6 {
        w0 = multiplyAdd(w0, d.6, k.zero[3])
        last = multiplyAdd(last, d.7, k.infinity[3])
    }
    let (w1, w2) = pair(k.pair1)
    if a == 4 { return (w0, w1, w2, last, .zero, .zero, .zero, .zero) }
    let (w3, w4) = pair(k.pair2)
    if a == 6 { return (w0, w1, w2, w3, w4, last, .zero, .zero) }
    let (w5, w6) = pair(k.pair3)
    return (w0, w1, w2, w3, w4, w5, w6, last)
}

/// bias + A^T M A for one channel vector of one tile: down each column of M in place (rows
/// 0 ..< m of it), then along those rows into the output.
@inline(__always)
func outputTile<V: SIMD>(
    _: V.Type, alpha: Int, _ product: UnsafeMutablePointer<Float>, _ stride: Int, _ m: Int,
    _ powers: UnsafeBufferPointer<Float>, _ bias: UnsafePointer<Float>, _ target: OutputTile, _ c: Int
) where V.Scalar == Float {
    switch alpha {
    case 4: outputTile(V.self, points: 4, product, stride, m, powers, bias, target, c)
    case 6: outputTile(V.self, points: 6, product, stride, m, powers, bias, target, c)
    default: outputTile(V.self, points: 8, product, stride, m, powers, bias, target, c)
    }
}

@inline(__always)
func outputTile<V: SIMD>(
    _: V.Type, points a: Int, _ product: UnsafeMutablePointer<Float>, _ stride: Int, _ m: Int,
    _ powers: UnsafeBufferPointer<Float>, _ bias: UnsafePointer<Float>, _ target: OutputTile, _ c: Int
) where V.Scalar == Float {
    let step = a * stride
    for j in 0 ..< a {
        let column = product + j * stride
        @inline(__always) func at(_ i: Int) -> V { i < a ? load(column + i * step) : .zero }
        inverseLine(a, (at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7)), m, powers) { (i: Int, y: V) in
            store(y, column + i * step)
        }
    }
    let b: V = load(bias)
    for i in 0 ..< target.rows {
        let row = product + i * step
        let out = target.origin + i * target.rowStride + c
        @inline(__always) func at(_ j: Int) -> V { j < a ? load(row + j * stride) : .zero }
        inverseLine(a, (at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7)), m, powers) { (j: Int, y: V) in
            if j < target.columns { store(y + b, out + j * target.pixelStride) }
        }
    }
}

/// A^T w for a line of `a` vectors: y_i = [i = 0] w0 + sum over pairs k of p_k^i (w_{2k+1} ±
/// w_{2k+2}) (+ for even i, - for odd) + [i = m - 1] w_(a-1), for i < m, each handed to `emit`.
@inline(__always)
func inverseLine<V: SIMD>(
    _ a: Int, _ w: TileLine<V>, _ m: Int, _ powers: UnsafeBufferPointer<Float>, _ emit: (Int, V) -> Void
) where V.Scalar == Float {
    let s1 = w.1 + w.2
    let s2 = w.3 + w.4
    let s3 = w.5 + w.6
    let t1 = w.1 - w.2
    let t2 = w.3 - w.4
    let t3 = w.5 - w.6
    let last = a == 4 ? w.3 : a == 6 ? w.5 : w.7
    for i in 0 ..< m {
        let p = powers.baseAddress! + 3 * i
        let even = i % 2 == 0
        var y = (even ? s1 : t1) * p[0]
        if a > 4 { y = multiplyAdd(y, even ? s2 : t2, p[1]) }
        if a > 6 { y = multiplyAdd(y, even ? s3 : t3, p[2]) }
        if i == 0 { y += w.0 }
        if i == m - 1 { y += last }
        emit(i, y)
    }
}

/// x + s * b for a scalar b (see `multiplyAdd` in GEMM.swift: fused only where FMA is the target's).
@inline(__always)
func multiplyAdd<V: SIMD>(_ x: V, _ s: V, _ b: Float) -> V where V.Scalar == Float {
    multiplyAdd(x, s, V(repeating: b))
}

/// A dY A^T for one channel vector of one tile: dY is the tile's m x m output gradient (the
/// part inside the image, zero beyond), A^T the output transform. Along each of dY's rows
/// into the first m rows of dM, then down each column of dM in place (`dm[ξ * stride]`).
@inline(__always)
func outputAdjointTile<V: SIMD>(
    _: V.Type, alpha: Int, _ gradient: TilePatch, _ c: Int, _ m: Int, _ powers: UnsafeBufferPointer<Float>,
    _ dm: UnsafeMutablePointer<Float>, _ stride: Int
) where V.Scalar == Float {
    switch alpha {
    case 4: outputAdjointTile(V.self, points: 4, gradient, c, m, powers, dm, stride)
    case 6: outputAdjointTile(V.self, points: 6, gradient, c, m, powers, dm, stride)
    default: outputAdjointTile(V.self, points: 8, gradient, c, m, powers, dm, stride)
    }
}

@inline(__always)
func outputAdjointTile<V: SIMD>(
    _: V.Type, points a: Int, _ gradient: TilePatch, _ c: Int, _ m: Int, _ powers: UnsafeBufferPointer<Float>,
    _ dm: UnsafeMutablePointer<Float>, _ stride: Int
) where V.Scalar == Float {
    for i in 0 ..< m {
        let row = dm + i * a * stride
        let pixels = gradient.origin + i * gradient.rowStride + c
        let inside = i < gradient.rows
        @inline(__always) func at(_ j: Int) -> V {
            guard inside && j < gradient.columns else { return .zero }
            return load(pixels + j * gradient.pixelStride)
        }
        storeLine(a, evaluateLine(a, m, powers, at), row, stride)
    }
    for j in 0 ..< a {
        let column = dm + j * stride
        @inline(__always) func at(_ i: Int) -> V { load(column + i * a * stride) }
        storeLine(a, evaluateLine(a, m, powers, at), column, a * stride)
    }
}

/// A y for m vectors (A, a x m, is the output transform's transpose): the polynomial
/// y_0 + y_1 x + ... + y_(m-1) x^(m-1) at the points 0, ±p1, ... (even and odd powers
/// summed apart: the value at -p is E - O where at p it is E + O), and y_(m-1) for the
/// point at infinity (at a - 1). Every input is read before anything is returned (callers
/// work in place).
@inline(__always)
func evaluateLine<V: SIMD>(_ a: Int, _ m: Int, _ powers: UnsafeBufferPointer<Float>, _ at: (Int) -> V)
    -> TileLine<V> where V.Scalar == Float
{
    let y0 = at(0)
    var even1 = y0
    var even2 = y0
    var even3 = y0
    var odd1 = V.zero
    var odd2 = V.zero
    var odd3 = V.zero
    var last = y0
    var i = 1
    while i < m {
        let y = at(i)
        let p = powers.baseAddress! + 3 * i
        if i % 2 == 0 {
            even1 = multiplyAdd(even1, y, p[0])
            if a > 4 { even2 = multiplyAdd(even2, y, p[1]) }
            if a > 6 { even3 = multiplyAdd(even3, y, p[2]) }
        } else {
            odd1 = multiplyAdd(odd1, y, p[0])
            if a > 4 { odd2 = multiplyAdd(odd2, y, p[1]) }
            if a > 6 { odd3 = multiplyAdd(odd3, y, p[2]) }
        }
        last = y
        i += 1
    }
    if a == 4 { return (y0, even1 + odd1, even1 - odd1, last, .zero, .zero, .zero, .zero) }
    if a == 6 { return (y0, even1 + odd1, even1 - odd1, even2 + odd2, even2 - odd2, last, .zero, .zero) }
    return (y0, even1 + odd1, even1 - odd1, even2 + odd2, even2 - odd2, even3 + odd3, even3 - odd3, last)
}

/// B dV B^T for one channel vector of one tile, added onto the tile's alpha x alpha input
/// patch (the part inside the image): along each row of dV in place, then down each column
/// into the patch.
@inline(__always)
func inputAdjointTile<V: SIMD>(
    _: V.Type, alpha: Int, _ dv: UnsafeMutablePointer<Float>, _ stride: Int, _ k: WinogradInputCoefficients,
    _ target: OutputTile, _ c: Int
) where V.Scalar == Float {
    switch alpha {
    case 4: inputAdjointTile(V.self, points: 4, dv, stride, k, target, c)
    case 6: inputAdjointTile(V.self, points: 6, dv, stride, k, target, c)
    default: inputAdjointTile(V.self, points: 8, dv, stride, k, target, c)
    }
}

@inline(__always)
func inputAdjointTile<V: SIMD>(
    _: V.Type, points a: Int, _ dv: UnsafeMutablePointer<Float>, _ stride: Int, _ k: WinogradInputCoefficients,
    _ target: OutputTile, _ c: Int
) where V.Scalar == Float {
    for j in 0 ..< a {
        let row = dv + j * a * stride
        @inline(__always) func at(_ l: Int) -> V { l < a ? load(row + l * stride) : .zero }
        storeLine(a, adjointLine(a, (at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7)), k), row, stride)
    }
    for x in 0 ..< target.columns {
        let column = dv + x * stride
        @inline(__always) func at(_ j: Int) -> V { j < a ? load(column + j * a * stride) : .zero }
        let d = adjointLine(a, (at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7)), k)
        let pixels = target.origin + x * target.pixelStride + c
        @inline(__always) func add(_ y: Int, _ value: V) {
            guard y < a && y < target.rows else { return }
            let p = pixels + y * target.rowStride
            store(load(p) + value, p)
        }
        add(0, d.0)
        add(1, d.1)
        add(2, d.2)
        add(3, d.3)
        add(4, d.4)
        add(5, d.5)
        add(6, d.6)
        add(7, d.7)
    }
}

/// B w for a line of `a` vectors, B^T's transpose (see `transformLine`): d_x = sum over rows
/// j of B^T[j][x] w_j. Even powers x gather row 0 and the sums of each ± pair, odd powers the
/// pairs' differences and the last row.
@inline(__always)
func adjointLine<V: SIMD>(_ a: Int, _ w: TileLine<V>, _ k: WinogradInputCoefficients) -> TileLine<V>
where V.Scalar == Float {
    let last = a == 4 ? w.3 : a == 6 ? w.5 : w.7
    let s1 = w.1 + w.2
    let s2 = w.3 + w.4
    let s3 = w.5 + w.6
    let t1 = w.1 - w.2
    let t2 = w.3 - w.4
    let t3 = w.5 - w.6
    @inline(__always) func even(_ power: Int, _ zero: Float) -> V {
        var d = multiplyAdd(w.0 * zero, s1, k.pair1[power - 1])
        if a > 4 { d = multiplyAdd(d, s2, k.pair2[power - 1]) }
        if a > 6 { d = multiplyAdd(d, s3, k.pair3[power - 1]) }
        return d
    }
    @inline(__always) func odd(_ power: Int, _ infinity: Float) -> V {
        var d = multiplyAdd(last * infinity, t1, k.pair1[power - 1])
        if a > 4 { d = multiplyAdd(d, t2, k.pair2[power - 1]) }
        if a > 6 { d = multiplyAdd(d, t3, k.pair3[power - 1]) }
        return d
    }
    let d0 = w.0 * k.zero[0]
    if a == 4 {
        return (d0, odd(1, k.infinity[0]), even(2, k.zero[1]), last * k.infinity[1], .zero, .zero, .zero, .zero)
    }
    if a == 6 {
        return (
            d0, odd(1, k.infinity[0]), even(2, k.zero[1]), odd(3, k.infinity[1]), even(4, k.zero[2]),
            last * k.infinity[2], .zero, .zero
        )
    }
    return (
        d0, odd(1, k.infinity[0]), even(2, k.zero[1]), odd(3, k.infinity[1]), even(4, k.zero[2]),
        odd(5, k.infinity[2]), even(6, k.zero[3]), last * k.infinity[3]
    )
}
