/// A stride-1 valid convolution over one NHWC image by Winograd F(m x m, r x r) on 8 x 8
/// tiles (`WinogradTransform`): per tile, 64 products per (input, output) channel pair
/// instead of m^2 r^2 (F(2x2, 7x7): 64 against 196). The forward pass serves inference and
/// training; `backward` (below) is its adjoint, the trainer's gradients in the same domain.
///
/// Per block of tile rows, with ξ (0 ..< 64) the transformed position:
///   1. input transform  V[ξ][tile][ci] = (B^T d B)[ξ], d the tile's 8 x 8 input patch;
///   2. 64 GEMMs         M[ξ][tile][co] = sum over ci of V[ξ][tile][ci] * U[ξ][ci][co];
///   3. output transform out = bias + A^T M A, the m x m outputs that fall in the image.
/// Both transforms run down the channels in SIMD registers and work in place in the scratch.
/// The weights U (64 x inC x outCp) are transformed once, in Double, from the direct
/// packing (after any batch-norm folding). Nothing here allocates.
public struct WinogradConv2D: Sendable {
    public let shape: Conv2DShape
    /// Input channels carrying data (the rest of inC is zero padding): the GEMMs' depth.
    public let realInC: Int
    public let transform: WinogradTransform
    public let tilesY: Int, tilesX: Int
    /// Tile rows transformed and multiplied together (bounds the scratch).
    public let tileRowsPerBlock: Int

    /// Whether `shape` can run this way: stride 1, a square kernel of 2 to 7, channels in 8s.
    public static func supports(_ shape: Conv2DShape) -> Bool {
        shape.strideH == 1 && shape.strideW == 1 && shape.kernelH == shape.kernelW
            && (2 ... 7).contains(shape.kernelH) && shape.inC % 8 == 0 && shape.outH > 0 && shape.outW > 0
    }

    /// The parts as they are (how the ISA dispatch hands this form to another copy of the kernels).
    public init(
        shape: Conv2DShape, realInC: Int, transform: WinogradTransform, tilesY: Int, tilesX: Int, tileRowsPerBlock: Int
    ) {
        self.shape = shape
        self.realInC = realInC
        self.transform = transform
        self.tilesY = tilesY
        self.tilesX = tilesX
        self.tileRowsPerBlock = tileRowsPerBlock
    }

    public init(shape: Conv2DShape, realInC: Int, tileRowsPerBlock: Int? = nil) {
        precondition(Self.supports(shape), "Winograd: unsupported convolution shape")
        self.shape = shape
        self.realInC = realInC
        transform = WinogradTransform(kernel: shape.kernelH)
        let m = transform.outputTile
        tilesY = (shape.outH + m - 1) / m
        tilesX = (shape.outW + m - 1) / m
        // About 96 KiB of V and M per block, so they stay in L2 next to the weights.
        let perRow = 64 * tilesX * (shape.inC + shape.outCp)
        self.tileRowsPerBlock = min(tilesY, max(1, tileRowsPerBlock ?? (24_576 / perRow)))
    }

    /// Multiplies per output against the direct convolution's (padding tiles included).
    public var multiplyRatio: Double {
        Double(shape.positions * shape.kernelH * shape.kernelW) / Double(tilesY * tilesX * 64)
    }

    public var weightFloats: Int { 64 * shape.inC * shape.outCp }
    public var scratchFloats: Int { 64 * tileRowsPerBlock * tilesX * (shape.inC + shape.outCp) }

    /// Direct packing `[K][outCp]` (K = (ky, kx, ci)) -> U `[64][inC][outCp]`.
    public func transformWeights(packed: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>) {
        #if STN_DISPATCH
            if let kernels = ISA.kernels { return kernels.winogradTransformWeights(self, packed: packed, into: u) }
        #endif
        let r = shape.kernelH
        let inC = shape.inC
        let outCp = shape.outCp
        u.initialize(repeating: 0, count: weightFloats)
        // Once per model load, but on every process's start-up: eight output channels at a
        // time (contiguous in the packing) in Double lanes, G f G^T with no dependency chains
        // of one lane, and nothing allocated per filter.
        let alpha = WinogradTransform.alpha
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
    public func forward(
        input: UnsafePointer<Float>, u: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
    ) {
        #if STN_DISPATCH
            if let kernels = ISA.kernels {
                return kernels.winogradForward(self, input: input, u: u, bias: bias, scratch: scratch, output: output)
            }
        #endif
        let inC = shape.inC
        let outCp = shape.outCp
        let m = transform.outputTile
        transform.outputPowers.withUnsafeBufferPointer { powers in
            var ty0 = 0
            while ty0 < tilesY {
                let tiles = min(tileRowsPerBlock, tilesY - ty0) * tilesX
                let v = scratch
                let product = scratch + 64 * tiles * inC
                // 1. Input transform, tile t of the block at V[ξ][t][c].
                transformInputTiles(input, firstRow: ty0, tiles: tiles, into: v)
                // 2. One GEMM per transformed position.
                product.initialize(repeating: 0, count: 64 * tiles * outCp)
                for xi in 0 ..< 64 {
                    gemmAccumulate(
                        m: tiles, n: outCp, a: v + xi * tiles * inC, rows: .linear(step: inC),
                        b: u + xi * inC * outCp, reduction: .contiguous(realInC, ldb: outCp),
                        c: product + xi * tiles * outCp, ldc: outCp)
                }
                // 3. Output transform.
                transformOutputTiles(
                    product, shape: shape, tilesX: tilesX, firstRow: ty0, tiles: tiles, m: m, powers: powers,
                    bias: bias,
                    into: output)
                ty0 += tileRowsPerBlock
            }
        }
    }
}

extension WinogradConv2D {
    /// Tile rows per block of the backward pass: up to about 768 KiB of V and dM (all of a
    /// 17 x 17 image's 36 tiles), so that the weight-gradient GEMMs sum over many tiles
    /// between loads and stores of their accumulators.
    public var backwardTileRowsPerBlock: Int {
        min(tilesY, max(1, 196_608 / (64 * tilesX * (shape.inC + shape.outCp))))
    }

    /// Scratch floats of `backward`.
    public var backwardScratchFloats: Int { 64 * backwardTileRowsPerBlock * tilesX * (shape.inC + shape.outCp) }

    /// U `[64][inC][outCp]` -> U^T `[64][outCp][inC]`, the layout the input gradient reads
    /// (`weightFloats` floats).
    public func transposeWeights(_ u: UnsafePointer<Float>, into uT: UnsafeMutablePointer<Float>) {
        let inC = shape.inC
        let outCp = shape.outCp
        for xi in 0 ..< 64 {
            let source = u + xi * inC * outCp
            let target = uT + xi * inC * outCp
            for co in 0 ..< outCp {
                for ci in 0 ..< inC { target[co * inC + ci] = source[ci * outCp + co] }
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
    ///   3. with `dInput`: dV[ξ] = dM[ξ] U[ξ]^T, then B dV B^T added onto each tile's 8 x 8
    ///      input patch (neighbouring patches overlap).
    /// `dInput` (inputCount floats) is overwritten; `dBias` (outCp) gets the sum of dY;
    /// `scratch` holds `backwardScratchFloats`. 64 x tiles x inC x outC products per pass
    /// against the direct product's positions x r^2 x inC x outC. Nothing here allocates.
    public func backward(
        input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>, uT: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, dU: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
        dInput: UnsafeMutablePointer<Float>?
    ) {
        #if STN_DISPATCH
            if let kernels = ISA.kernels {
                return kernels.winogradBackward(
                    self, input: input, dOutput: dOutput, uT: uT, scratch: scratch, dU: dU, dBias: dBias,
                    dInput: dInput)
            }
        #endif
        let inC = shape.inC
        let outCp = shape.outCp
        let m = transform.outputTile
        let coefficients = transform.input
        addChannelSums(dOutput, positions: shape.positions, channels: outCp, into: dBias)
        dInput?.initialize(repeating: 0, count: shape.inputCount)
        let rowsPerBlock = backwardTileRowsPerBlock
        transform.outputPowers.withUnsafeBufferPointer { powers in
            var ty0 = 0
            while ty0 < tilesY {
                let tiles = min(rowsPerBlock, tilesY - ty0) * tilesX
                let v = scratch
                let dm = scratch + 64 * tiles * inC
                // 1. V[ξ][t][ci] and dM[ξ][t][co].
                transformInputTiles(input, firstRow: ty0, tiles: tiles, into: v)
                transformOutputGradientTiles(
                    dOutput, shape: shape, tilesX: tilesX, firstRow: ty0, tiles: tiles, m: m, powers: powers, into: dm)
                // 2. dU[ξ][ci][co] += sum over tiles of V[ξ][t][ci] dM[ξ][t][co].
                for xi in 0 ..< 64 {
                    gemmAccumulate(
                        m: realInC, n: outCp, a: v + xi * tiles * inC, rows: .linear(step: 1),
                        b: dm + xi * tiles * outCp,
                        reduction: Reduction(
                            n1: 1, n2: tiles, aStride1: 0, aStride2: inC, bStride1: 0, bStride2: outCp),
                        c: dU + xi * inC * outCp, ldc: outCp)
                }
                // 3. dV[ξ][t][ci] = sum over co of dM[ξ][t][co] U[ξ][ci][co], in V's place; then the patches.
                if let dInput {
                    v.initialize(repeating: 0, count: 64 * tiles * inC)
                    for xi in 0 ..< 64 {
                        gemmAccumulate(
                            m: tiles, n: inC, a: dm + xi * tiles * outCp, rows: .linear(step: outCp),
                            b: uT + xi * outCp * inC, reduction: .contiguous(shape.outC, ldb: inC),
                            c: v + xi * tiles * inC, ldc: inC)
                    }
                    for t in 0 ..< tiles {
                        let y0 = (ty0 + t / tilesX) * m
                        let x0 = (t % tilesX) * m
                        let target = OutputTile(
                            origin: dInput + (y0 * shape.inW + x0) * inC, rowStride: shape.inW * inC,
                            pixelStride: inC, rows: min(8, shape.inH - y0), columns: min(8, shape.inW - x0))
                        forEachChannelVector(inC) { c, lanes in
                            if lanes == Lane.scalarCount {
                                inputAdjointTile(Lane.self, v + t * inC + c, tiles * inC, coefficients, target, c)
                            } else {
                                inputAdjointTile(
                                    SIMD8<Float>.self, v + t * inC + c, tiles * inC, coefficients, target, c)
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
        let coefficients = transform.input
        for t in 0 ..< tiles {
            let y0 = (ty0 + t / tilesX) * m
            let x0 = (t % tilesX) * m
            let patch = TilePatch(
                origin: input + (y0 * shape.inW + x0) * inC, rowStride: shape.inW * inC, pixelStride: inC,
                rows: min(8, shape.inH - y0), columns: min(8, shape.inW - x0))
            forEachChannelVector(inC) { c, lanes in
                if lanes == Lane.scalarCount {
                    inputTile(Lane.self, patch, c, coefficients, v + t * inC + c, tiles * inC)
                } else {
                    inputTile(SIMD8<Float>.self, patch, c, coefficients, v + t * inC + c, tiles * inC)
                }
            }
        }
    }

    /// Adds G^T dU G, the gradient of the filters whose transform is U = G g G^T, to PyTorch's
    /// `[outC][realInC][r][r]` weight gradient: once per batch, in Double, eight output
    /// channels at a time.
    public func addWeightGradient(_ dU: UnsafePointer<Float>, into w: UnsafeMutablePointer<Float>) {
        let r = shape.kernelH
        let inC = shape.inC
        let outCp = shape.outCp
        let alpha = WinogradTransform.alpha
        let g = transform.g.flatMap { $0 }  // alpha x r, row-major
        let lanes = UnsafeMutablePointer<SIMD8<Double>>.allocate(capacity: alpha * alpha + alpha * r)
        defer { lanes.deallocate() }
        let dUG = lanes + alpha * alpha  // dU G, alpha x r
        for ci in 0 ..< realInC {
            var co = 0
            while co < shape.outC {
                for xi in 0 ..< alpha * alpha {
                    let source = dU + (xi * inC + ci) * outCp + co
                    lanes[xi] = doubleLanes(source)
                }
                g.withUnsafeBufferPointer { g in
                    transform.filterGradients(lanes, g: g.baseAddress!, scratch: dUG) { tap, value in
                        for lane in 0 ..< min(8, shape.outC - co) {
                            w[((co + lane) * realInC + ci) * r * r + tap] += Float(value[lane])
                        }
                    }
                }
                co += 8
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
/// `ty0`; M `[ξ][t][outCp]`, worked in place.
func transformOutputTiles(
    _ product: UnsafeMutablePointer<Float>, shape: Conv2DShape, tilesX: Int, firstRow ty0: Int, tiles: Int, m: Int,
    powers: UnsafeBufferPointer<Float>, bias: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>
) {
    let outCp = shape.outCp
    for t in 0 ..< tiles {
        let y0 = (ty0 + t / tilesX) * m
        let x0 = (t % tilesX) * m
        let target = OutputTile(
            origin: output + (y0 * shape.outW + x0) * outCp, rowStride: shape.outW * outCp, pixelStride: outCp,
            rows: min(m, shape.outH - y0), columns: min(m, shape.outW - x0))
        forEachChannelVector(outCp) { c, lanes in
            if lanes == Lane.scalarCount {
                outputTile(Lane.self, product + t * outCp + c, tiles * outCp, m, powers, bias + c, target, c)
            } else {
                outputTile(SIMD8<Float>.self, product + t * outCp + c, tiles * outCp, m, powers, bias + c, target, c)
            }
        }
    }
}

/// dM = A dY A^T for the same tiles' output gradients (zero past the image), into `dm[ξ][t][outCp]`.
func transformOutputGradientTiles(
    _ dOutput: UnsafePointer<Float>, shape: Conv2DShape, tilesX: Int, firstRow ty0: Int, tiles: Int, m: Int,
    powers: UnsafeBufferPointer<Float>, into dm: UnsafeMutablePointer<Float>
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
                outputAdjointTile(Lane.self, gradient, c, m, powers, dm + t * outCp + c, tiles * outCp)
            } else {
                outputAdjointTile(SIMD8<Float>.self, gradient, c, m, powers, dm + t * outCp + c, tiles * outCp)
            }
        }
    }
}

/// An input tile's 8 x 8 patch; pixels past `rows` x `columns` (the image's edge) read as zero.
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

/// B^T d B for one channel vector of one tile: down each column, then along each row, the
/// second pass in place in V (`v[ξ * stride]`).
@inline(__always)
func inputTile<V: SIMD>(
    _: V.Type, _ patch: TilePatch, _ c: Int, _ k: WinogradInputCoefficients, _ v: UnsafeMutablePointer<Float>,
    _ stride: Int
) where V.Scalar == Float {
    for x in 0 ..< 8 {
        let column = patch.origin + x * patch.pixelStride + c
        let inside = x < patch.columns
        @inline(__always) func at(_ y: Int) -> V {
            guard inside && y < patch.rows else { return .zero }
            return load(column + y * patch.rowStride)
        }
        let w = transform8(at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7), k)
        storeRow(w, v + x * stride, 8 * stride)
    }
    for i in 0 ..< 8 {
        let row = v + i * 8 * stride
        @inline(__always) func at(_ x: Int) -> V { load(row + x * stride) }
        storeRow(transform8(at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7), k), row, stride)
    }
}

@inline(__always)
func storeRow<V: SIMD>(_ w: (V, V, V, V, V, V, V, V), _ p: UnsafeMutablePointer<Float>, _ stride: Int)
where V.Scalar == Float {
    store(w.0, p)
    store(w.1, p + stride)
    store(w.2, p + 2 * stride)
    store(w.3, p + 3 * stride)
    store(w.4, p + 4 * stride)
    store(w.5, p + 5 * stride)
    store(w.6, p + 6 * stride)
    store(w.7, p + 7 * stride)
}

/// B^T d for eight vectors, pairwise (see `WinogradInputCoefficients`).
@inline(__always)
func transform8<V: SIMD>(
    _ d0: V, _ d1: V, _ d2: V, _ d3: V, _ d4: V, _ d5: V, _ d6: V, _ d7: V, _ k: WinogradInputCoefficients
) -> (V, V, V, V, V, V, V, V) where V.Scalar == Float {
    @inline(__always) func pair(_ c: SIMD8<Float>) -> (V, V) {
        let even = multiplyAdd(multiplyAdd(d2 * c[1], d4, c[3]), d6, c[5])
        let odd = multiplyAdd(multiplyAdd(d1 * c[0], d3, c[2]), d5, c[4])
        return (even + odd, even - odd)
    }
    let w0 = multiplyAdd(multiplyAdd(multiplyAdd(d0 * k.zero[0], d2, k.zero[1]), d4, k.zero[2]), d6, k.zero[3])
    let (w1, w2) = pair(k.pair1)
    let (w3, w4) = pair(k.pair2)
    let (w5, w6) = pair(k.pair3)
    let w7 = multiplyAdd(
        multiplyAdd(multiplyAdd(d1 * k.infinity[0], d3, k.infinity[1]), d5, k.infinity[2]), d7, k.infinity[3])
    return (w0, w1, w2, w3, w4, w5, w6, w7)
}

/// bias + A^T M A for one channel vector of one tile: down each column of M in place (rows
/// 0 ..< m of it), then along those rows into the output.
@inline(__always)
func outputTile<V: SIMD>(
    _: V.Type, _ product: UnsafeMutablePointer<Float>, _ stride: Int, _ m: Int, _ powers: UnsafeBufferPointer<Float>,
    _ bias: UnsafePointer<Float>, _ target: OutputTile, _ c: Int
) where V.Scalar == Float {
    for j in 0 ..< 8 {
        let column = product + j * stride
        let step = 8 * stride
        @inline(__always) func at(_ i: Int) -> V { load(column + i * step) }
        inverse8(at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7), m, powers) { (i: Int, y: V) in
            store(y, column + i * step)
        }
    }
    let b: V = load(bias)
    for i in 0 ..< target.rows {
        let row = product + i * 8 * stride
        let out = target.origin + i * target.rowStride + c
        @inline(__always) func at(_ j: Int) -> V { load(row + j * stride) }
        inverse8(at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7), m, powers) { (j: Int, y: V) in
            if j < target.columns { store(y + b, out + j * target.pixelStride) }
        }
    }
}

/// A^T w for eight vectors: y_i = [i = 0] w0 + sum over pairs k of p_k^i (w_{2k+1} ± w_{2k+2})
/// (+ for even i, - for odd) + [i = m - 1] w7, for i < m, each handed to `emit`.
@inline(__always)
func inverse8<V: SIMD>(
    _ w0: V, _ w1: V, _ w2: V, _ w3: V, _ w4: V, _ w5: V, _ w6: V, _ w7: V, _ m: Int,
    _ powers: UnsafeBufferPointer<Float>,
    _ emit: (Int, V) -> Void
) where V.Scalar == Float {
    let s1 = w1 + w2
    let s2 = w3 + w4
    let s3 = w5 + w6
    let t1 = w1 - w2
    let t2 = w3 - w4
    let t3 = w5 - w6
    for i in 0 ..< m {
        let p = powers.baseAddress! + 3 * i
        var y =
            i % 2 == 0
            ? multiplyAdd(multiplyAdd(s1 * p[0], s2, p[1]), s3, p[2])
            : multiplyAdd(multiplyAdd(t1 * p[0], t2, p[1]), t3, p[2])
        if i == 0 { y += w0 }
        if i == m - 1 { y += w7 }
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
    _: V.Type, _ gradient: TilePatch, _ c: Int, _ m: Int, _ powers: UnsafeBufferPointer<Float>,
    _ dm: UnsafeMutablePointer<Float>, _ stride: Int
) where V.Scalar == Float {
    for i in 0 ..< m {
        let row = dm + i * 8 * stride
        let pixels = gradient.origin + i * gradient.rowStride + c
        let inside = i < gradient.rows
        @inline(__always) func at(_ j: Int) -> V {
            guard inside && j < gradient.columns else { return .zero }
            return load(pixels + j * gradient.pixelStride)
        }
        storeRow(evaluate8(m, powers, at), row, stride)
    }
    for j in 0 ..< 8 {
        let column = dm + j * stride
        @inline(__always) func at(_ i: Int) -> V { load(column + i * 8 * stride) }
        storeRow(evaluate8(m, powers, at), column, 8 * stride)
    }
}

/// A y for m vectors (A, 8 x m, is the output transform's transpose): the polynomial
/// y_0 + y_1 x + ... + y_(m-1) x^(m-1) at the points 0, ±p1, ±p2, ±p3 (even and odd powers
/// summed apart: the value at -p is E - O where at p it is E + O), and y_(m-1) for the
/// point at infinity. Every input is read before anything is returned (callers work in place).
@inline(__always)
func evaluate8<V: SIMD>(_ m: Int, _ powers: UnsafeBufferPointer<Float>, _ at: (Int) -> V) -> (
    V, V, V, V, V, V, V, V
) where V.Scalar == Float {
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
            even2 = multiplyAdd(even2, y, p[1])
            even3 = multiplyAdd(even3, y, p[2])
        } else {
            odd1 = multiplyAdd(odd1, y, p[0])
            odd2 = multiplyAdd(odd2, y, p[1])
            odd3 = multiplyAdd(odd3, y, p[2])
        }
        last = y
        i += 1
    }
    return (y0, even1 + odd1, even1 - odd1, even2 + odd2, even2 - odd2, even3 + odd3, even3 - odd3, last)
}

/// B dV B^T for one channel vector of one tile, added onto the tile's 8 x 8 input patch (the
/// part inside the image): along each row of dV in place, then down each column into the patch.
@inline(__always)
func inputAdjointTile<V: SIMD>(
    _: V.Type, _ dv: UnsafeMutablePointer<Float>, _ stride: Int, _ k: WinogradInputCoefficients,
    _ target: OutputTile, _ c: Int
) where V.Scalar == Float {
    for j in 0 ..< 8 {
        let row = dv + j * 8 * stride
        @inline(__always) func at(_ l: Int) -> V { load(row + l * stride) }
        storeRow(adjoint8(at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7), k), row, stride)
    }
    for x in 0 ..< target.columns {
        let column = dv + x * stride
        @inline(__always) func at(_ j: Int) -> V { load(column + j * 8 * stride) }
        let d = adjoint8(at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7), k)
        let pixels = target.origin + x * target.pixelStride + c
        @inline(__always) func add(_ y: Int, _ value: V) {
            guard y < target.rows else { return }
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

/// B w for eight vectors, B^T's transpose (see `transform8`): d_x = sum over rows j of
/// B^T[j][x] w_j. Even powers x gather row 0 and the sums of each ± pair, odd powers the
/// pairs' differences and row 7.
@inline(__always)
func adjoint8<V: SIMD>(
    _ w0: V, _ w1: V, _ w2: V, _ w3: V, _ w4: V, _ w5: V, _ w6: V, _ w7: V, _ k: WinogradInputCoefficients
) -> (V, V, V, V, V, V, V, V) where V.Scalar == Float {
    let s1 = w1 + w2
    let s2 = w3 + w4
    let s3 = w5 + w6
    let t1 = w1 - w2
    let t2 = w3 - w4
    let t3 = w5 - w6
    @inline(__always) func even(_ power: Int, _ zero: Float) -> V {
        multiplyAdd(
            multiplyAdd(multiplyAdd(w0 * zero, s1, k.pair1[power - 1]), s2, k.pair2[power - 1]), s3,
            k.pair3[power - 1])
    }
    @inline(__always) func odd(_ power: Int, _ infinity: Float) -> V {
        multiplyAdd(
            multiplyAdd(multiplyAdd(w7 * infinity, t1, k.pair1[power - 1]), t2, k.pair2[power - 1]), t3,
            k.pair3[power - 1])
    }
    return (
        w0 * k.zero[0], odd(1, k.infinity[0]), even(2, k.zero[1]), odd(3, k.infinity[1]), even(4, k.zero[2]),
        odd(5, k.infinity[2]), even(6, k.zero[3]), w7 * k.infinity[3]
    )
}
