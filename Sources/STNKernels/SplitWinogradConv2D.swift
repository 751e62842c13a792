import STNKernelInterface

/// The split Winograd convolution (`SplitWinogradConv2D`): the weight transform, the
/// forward pass and its adjoint, the backward pass.
extension SplitWinogradConv2D {
    /// Direct packing `[K][outCp]` (K = (ky, kx), one input channel) -> U `[64][s][s][outCp]`.
    func transformWeights(packed: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>) {
        let outCp = shape.outCp
        let kernel = shape.kernelW
        let g = transform.g.flatMap { $0 }  // 8 x 3, row-major
        let lanes = UnsafeMutablePointer<SIMD8<Double>>.allocate(capacity: 9 + 24)
        defer { lanes.deallocate() }
        let gf = lanes + 9  // G f, 8 x 3
        for a in 0 ..< pieces {
            for b in 0 ..< pieces {
                var co = 0
                while co < shape.outC {
                    for p in 0 ..< 3 {
                        for q in 0 ..< 3 {
                            let source = packed + ((3 * a + p) * kernel + 3 * b + q) * outCp + co
                            lanes[p * 3 + q] = doubleLanes(source)
                        }
                    }
                    g.withUnsafeBufferPointer { g in
                        transform.transformFilters(lanes, g: g.baseAddress!, scratch: gf) { xi, value in
                            let target = u + ((xi * pieces + a) * pieces + b) * outCp + co
                            for k in 0 ..< 8 { target[k] = Float(value[k]) }
                        }
                    }
                    co += 8
                }
            }
        }
    }

    /// output = bias + input (*) weights, as `Conv2DShape.forward`. `scratch` holds `scratchFloats`.
    func forward(
        input: UnsafePointer<Float>, u: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
    ) {
        let outCp = shape.outCp
        let v = scratch
        let product = scratch + 64 * gridY * gridX + 8 * coveredWidth
        transformInput(input, into: v, rows: scratch + 64 * gridY * gridX)
        let patch = 64
        for i in 0 ..< 8 {
            for j in 0 ..< 8 {
                let xi = i * 8 + j
                gemmAccumulate(
                    m: tiles, n: outCp, a: v + j * 8 + i,
                    rows: RowMap(perLine: tilesX, lineStride: 2 * gridX * patch, step: 2 * patch),
                    b: u + xi * pieces * pieces * outCp,
                    reduction: Reduction(
                        n1: pieces, n2: pieces, aStride1: gridX * patch, aStride2: patch,
                        bStride1: pieces * outCp, bStride2: outCp),
                    c: product + xi * tiles * outCp, ldc: outCp, start: .zero)
            }
        }
        transform.outputPowers.withUnsafeBufferPointer { powers in
            transformOutputTiles(
                product, shape: shape, alpha: 8, tilesX: tilesX, firstRow: 0, tiles: tiles, m: 6, powers: powers,
                bias: bias, into: output)
        }
    }

    /// For one image: dU += the gradient of the transformed weights, dBias (outCp) += the sum
    /// of dY and, with `dInput` (inputCount floats, overwritten), the input gradient.
    /// `scratch` holds `backwardScratchFloats`.
    func backward(
        input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>, uT: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, dU: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
        dInput: UnsafeMutablePointer<Float>?
    ) {
        let outCp = shape.outCp
        addChannelSums(dOutput, positions: shape.positions, channels: outCp, into: dBias)
        let v = scratch
        let dm = scratch + 64 * gridY * gridX + 8 * coveredWidth
        transformInput(input, into: v, rows: scratch + 64 * gridY * gridX)
        transform.outputPowers.withUnsafeBufferPointer { powers in
            transformOutputGradientTiles(
                dOutput, shape: shape, alpha: 8, tilesX: tilesX, firstRow: 0, tiles: tiles, m: 6, powers: powers,
                into: dm)
        }
        let patch = 64
        for i in 0 ..< 8 {
            for j in 0 ..< 8 {
                let xi = i * 8 + j
                gemmAccumulate(
                    m: pieces * pieces, n: outCp, a: v + j * 8 + i,
                    rows: RowMap(perLine: pieces, lineStride: gridX * patch, step: patch),
                    b: dm + xi * tiles * outCp,
                    reduction: Reduction(
                        n1: tilesY, n2: tilesX, aStride1: 2 * gridX * patch, aStride2: 2 * patch,
                        bStride1: tilesX * outCp, bStride2: outCp),
                    c: dU + xi * pieces * pieces * outCp, ldc: outCp)
            }
        }
        guard let dInput else { return }
        // P[ξ][t][piece] = sum over co of dM[ξ][t][co] U[ξ][piece][co], then each into dV at the
        // patch the piece read (V's place: V is no longer needed).
        let columns = pieceColumns
        let products = scratch + scratchFloats
        for xi in 0 ..< 64 {
            gemmAccumulate(
                m: tiles, n: columns, a: dm + xi * tiles * outCp, rows: .linear(step: outCp),
                b: uT + xi * outCp * columns, reduction: .contiguous(shape.outC, ldb: columns),
                c: products + xi * tiles * columns, ldc: columns, start: .zero)
        }
        let dv = v
        dv.initialize(repeating: 0, count: 64 * gridY * gridX)
        for t in 0 ..< tiles {
            let ty = t / tilesX
            let tx = t % tilesX
            for a in 0 ..< pieces {
                for b in 0 ..< pieces {
                    let patchGradient = dv + ((2 * ty + a) * gridX + 2 * tx + b) * 64
                    let source = products + t * columns + a * pieces + b
                    for i in 0 ..< 8 {
                        for j in 0 ..< 8 { patchGradient[j * 8 + i] += source[(i * 8 + j) * tiles * columns] }
                    }
                }
            }
        }
        transformInputGradient(dv, into: dInput, rows: scratch + 64 * gridY * gridX)
    }

    /// The adjoint of `transformInput`: dInput (overwritten) = the sum over patches of
    /// B dV B^T placed at the patch. Per grid row: each patch along the row (B over j, eight
    /// lanes: i), then down each column (B over i) into a buffer of the grid row's 8 image
    /// rows (x-major), added onto the image at the end of the row.
    func transformInputGradient(
        _ dv: UnsafePointer<Float>, into dInput: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Float>
    ) {
        let bT = transform.bT
        let r0 = Self.row(bT, 0)
        let r1 = Self.row(bT, 1)
        let r2 = Self.row(bT, 2)
        let r3 = Self.row(bT, 3)
        let r4 = Self.row(bT, 4)
        let r5 = Self.row(bT, 5)
        let r6 = Self.row(bT, 6)
        let r7 = Self.row(bT, 7)
        let coefficients = transform.input
        let width = coveredWidth
        dInput.initialize(repeating: 0, count: shape.inputCount)
        for gy in 0 ..< gridY {
            rows.initialize(repeating: 0, count: 8 * width)
            for gx in 0 ..< gridX {
                let patch = dv + (gy * gridX + gx) * 64
                @inline(__always) func at(_ j: Int) -> SIMD8<Float> { load8(patch + j * 8) }
                // W_x[i] = sum over j of dV[i][j] B^T[j][x]
                let w = adjointLine(8, (at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7)), coefficients)
                // dd[.][x] = sum over i of B^T[i][.] W_x[i], added at column 3 gx + x
                @inline(__always) func add(_ x: Int, _ wx: SIMD8<Float>) {
                    var sum = multiplyAdd(multiplyAdd(r0 * wx[0], r1, wx[1]), r2, wx[2])
                    sum = multiplyAdd(multiplyAdd(multiplyAdd(sum, r3, wx[3]), r4, wx[4]), r5, wx[5])
                    sum = multiplyAdd(multiplyAdd(sum, r6, wx[6]), r7, wx[7])
                    let target = rows + (3 * gx + x) * 8
                    store8(load8(target) + sum, target)
                }
                add(0, w.0)
                add(1, w.1)
                add(2, w.2)
                add(3, w.3)
                add(4, w.4)
                add(5, w.5)
                add(6, w.6)
                add(7, w.7)
            }
            let y0 = 3 * gy
            for y in 0 ..< max(0, min(8, shape.inH - y0)) {
                let line = dInput + (y0 + y) * shape.inW
                for x in 0 ..< shape.inW { line[x] += rows[x * 8 + y] }
            }
        }
    }

    /// V of every patch on the grid, `v[(gy * gridX + gx) * 64 + j * 8 + i]`. Per grid row: its
    /// 8 image rows through B^T down each column (eight lanes: i), then each patch's 8 columns
    /// through B^T along the row. `rows` holds 8 x coveredWidth floats.
    func transformInput(
        _ input: UnsafePointer<Float>, into v: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Float>
    ) {
        let bT = transform.bT
        let k0 = Self.column(bT, 0)
        let k1 = Self.column(bT, 1)
        let k2 = Self.column(bT, 2)
        let k3 = Self.column(bT, 3)
        let k4 = Self.column(bT, 4)
        let k5 = Self.column(bT, 5)
        let k6 = Self.column(bT, 6)
        let k7 = Self.column(bT, 7)
        let coefficients = transform.input
        let width = coveredWidth
        for gy in 0 ..< gridY {
            let y0 = 3 * gy
            let available = max(0, min(8, shape.inH - y0))
            for x in 0 ..< width {
                var sum = SIMD8<Float>.zero
                if x < shape.inW {
                    let pixel = input + y0 * shape.inW + x
                    @inline(__always) func at(_ k: Int) -> Float { k < available ? pixel[k * shape.inW] : 0 }
                    sum = multiplyAdd(multiplyAdd(k0 * at(0), k1, at(1)), k2, at(2))
                    sum = multiplyAdd(multiplyAdd(multiplyAdd(sum, k3, at(3)), k4, at(4)), k5, at(5))
                    sum = multiplyAdd(multiplyAdd(sum, k6, at(6)), k7, at(7))
                }
                store8(sum, rows + x * 8)
            }
            for gx in 0 ..< gridX {
                let first = rows + 3 * gx * 8
                @inline(__always) func at(_ l: Int) -> SIMD8<Float> { load8(first + l * 8) }
                let w = transformLine(8, (at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7)), coefficients)
                storeLine(8, w, v + (gy * gridX + gx) * 64, 8)
            }
        }
    }

    /// Row i of B^T as eight lanes.
    static func row(_ bT: [[Double]], _ i: Int) -> SIMD8<Float> {
        var lanes = SIMD8<Float>()
        for k in 0 ..< 8 { lanes[k] = Float(bT[i][k]) }
        return lanes
    }

    /// Column k of B^T as eight lanes.
    static func column(_ bT: [[Double]], _ k: Int) -> SIMD8<Float> {
        var lanes = SIMD8<Float>()
        for i in 0 ..< 8 { lanes[i] = Float(bT[i][k]) }
        return lanes
    }
}
