import STNKernelInterface

/// The one compute primitive behind every convolution and fully connected layer, forward
/// and backward: a register-blocked SIMD "implicit GEMM"
///
///     C[i][j] += sum over t of A[rows.offset(i) + t.a] * B[t.b + j]
///
/// where t walks a two-level loop (`Reduction`). Choosing the row map and the reduction
/// strides expresses a convolution over an NHWC image without materialising im2col, its
/// weight gradient, the input-gradient product, and linear layers. The microkernel holds a
/// 6 x 2L block of C in twelve L-lane registers, so each loaded B vector feeds six FMAs and
/// each broadcast A value two: L = 16 with AVX-512 (32 registers; the package defines
/// STN_AVX512 for that copy of the kernels), L = 8 otherwise (AVX2's 16 registers).
///
/// Shapes: `n` (columns) must be a multiple of 8; layers pad channel counts to 8 with
/// zero weights. Nothing here allocates.

extension GEMMStart {
    /// The same start for the columns from `j` on.
    @inline(__always)
    func advanced(by j: Int) -> GEMMStart {
        if case .row(let r) = self { return .row(r + j) }
        return self
    }

    /// The initial accumulator of C's vector at `c` (column `offset` of its block).
    @inline(__always)
    func initial<V: SIMD>(_ c: UnsafeMutablePointer<Float>, _ offset: Int) -> V where V.Scalar == Float {
        switch self {
        case .accumulate: return load(c + offset)
        case .zero: return .zero
        case .row(let r): return load(r + offset)
        }
    }
}

/// Row i's offset in A, row after row without dividing: (line, column) of row i of the map.
struct RowCursor {
    let map: RowMap
    var line = 0
    var column = 0

    init(_ map: RowMap) { self.map = map }

    @inline(__always)
    var offset: Int { line * map.lineStride + column * map.step }

    @inline(__always)
    mutating func advance() {
        column += 1
        if column == map.perLine {
            column = 0
            line += 1
        }
    }
}

#if STN_AVX512
    /// One vector register: 16 floats in a zmm register.
    typealias Lane = SIMD16<Float>
#else
    /// One vector register: 8 floats in a ymm register.
    typealias Lane = SIMD8<Float>
#endif

/// C (m x n, rows `ldc` apart) = `start` + A (through `rows`) * B (through `reduction`):
/// by default C += A B.
public func gemmAccumulate(
    m: Int, n: Int, a: UnsafePointer<Float>, rows: RowMap, b: UnsafePointer<Float>,
    reduction: Reduction, c: UnsafeMutablePointer<Float>, ldc: Int, start: GEMMStart = .accumulate
) {
    precondition(n % 8 == 0, "gemm: columns must be a multiple of 8")
    let lanes = Lane.scalarCount
    // Rows i ..< i + 6 of C (row i at `cursor`), columns j0 ..< j1.
    @inline(__always) func rowBlock(_ i: Int, _ cursor: RowCursor, _ j0: Int, _ j1: Int) {
        // A partial last block repeats its last row: it computes and stores the same values twice.
        let last = m - 1
        let i0 = i
        let i1 = min(i + 1, last)
        let i2 = min(i + 2, last)
        let i3 = min(i + 3, last)
        let i4 = min(i + 4, last)
        let i5 = min(i + 5, last)
        // The row pointers; with one float per row (a one-channel image, stride 1) six rows of
        // one line are six neighbouring floats, passed as offsets of one pointer so that the
        // kernel addresses them from one register.
        @inline(__always) func columns(
            _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ a2: UnsafePointer<Float>,
            _ a3: UnsafePointer<Float>, _ a4: UnsafePointer<Float>, _ a5: UnsafePointer<Float>
        ) {
            var j = j0
            #if STN_AVX512
                // 40 columns (the CNN's 36 channels, padded) in one pass: the 8-lane tail shares each
                // broadcast of A with the two wide vectors instead of re-reading A on its own.
                if j0 == 0 && j1 == n && n == 2 * lanes + 8 {
                    kernel6x2plus8(
                        a0, a1, a2, a3, a4, a5, b, c + i0 * ldc, c + i1 * ldc, c + i2 * ldc,
                        c + i3 * ldc, c + i4 * ldc, c + i5 * ldc, reduction, start)
                    j = n
                }
            #endif
            while j + 2 * lanes <= j1 {
                kernel6x2(
                    Lane.self, a0, a1, a2, a3, a4, a5, b + j, c + i0 * ldc + j, c + i1 * ldc + j, c + i2 * ldc + j,
                    c + i3 * ldc + j, c + i4 * ldc + j, c + i5 * ldc + j, reduction, start.advanced(by: j))
                j += 2 * lanes
            }
            // The columns left over: one register's worth, then (AVX-512 only) a last 8.
            if j + lanes <= j1 {
                kernel6x1(
                    Lane.self, a0, a1, a2, a3, a4, a5, b + j, c + i0 * ldc + j, c + i1 * ldc + j, c + i2 * ldc + j,
                    c + i3 * ldc + j, c + i4 * ldc + j, c + i5 * ldc + j, reduction, start.advanced(by: j))
                j += lanes
            }
            if j < j1 {
                kernel6x1(
                    SIMD8<Float>.self, a0, a1, a2, a3, a4, a5, b + j, c + i0 * ldc + j, c + i1 * ldc + j,
                    c + i2 * ldc + j,
                    c + i3 * ldc + j, c + i4 * ldc + j, c + i5 * ldc + j, reduction, start.advanced(by: j))
            }
        }
        if rows.step == 1 && i + 5 <= last && cursor.column + 5 < rows.perLine {
            let a0 = a + cursor.offset
            columns(a0, a0 + 1, a0 + 2, a0 + 3, a0 + 4, a0 + 5)
            return
        }
        var row = cursor
        let a0 = a + row.offset
        if i + 1 <= last { row.advance() }
        let a1 = a + row.offset
        if i + 2 <= last { row.advance() }
        let a2 = a + row.offset
        if i + 3 <= last { row.advance() }
        let a3 = a + row.offset
        if i + 4 <= last { row.advance() }
        let a4 = a + row.offset
        if i + 5 <= last { row.advance() }
        let a5 = a + row.offset
        columns(a0, a1, a2, a3, a4, a5)
    }

    // Each block of 6 rows reads all of B. When B is larger than about half of L2 (a
    // convolution with thousands of taps x hundreds of channels) and several row blocks
    // read it, go panel by panel instead: one panel of B (all of its rows, 2 vectors of
    // columns) stays in cache while every row block reads it, so B streams in once.
    let bSpan = (reduction.n1 - 1) * reduction.bStride1 + (reduction.n2 - 1) * reduction.bStride2 + n
    if m > 6 && bSpan > 1 << 17 {
        let panel = 2 * lanes
        var j0 = 0
        while j0 < n {
            // A last panel of less than 2 vectors runs with the one before it (as `rowBlock` splits it).
            let j1 = n - j0 < 2 * panel ? n : j0 + panel
            var i = 0
            var cursor = RowCursor(rows)
            while i < m {
                rowBlock(i, cursor, j0, j1)
                for _ in 0 ..< 6 { cursor.advance() }
                i += 6
            }
            j0 = j1
        }
        return
    }
    var i = 0
    var cursor = RowCursor(rows)
    while i < m {
        rowBlock(i, cursor, 0, n)
        for _ in 0 ..< 6 { cursor.advance() }
        i += 6
    }
}

/// x + s * b, lane-wise: one fused multiply-add where the target has FMA (the package
/// defines STN_FMA), else a multiply then an add. Without an FMA instruction,
/// `addingProduct` becomes a libm `fma` call per lane, about 200 times slower.
@inline(__always)
func multiplyAdd<V: SIMD>(_ x: V, _ s: V, _ b: V) -> V where V.Scalar == Float {
    #if STN_FMA
        x.addingProduct(s, b)
    #else
        x + s * b
    #endif
}

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

@inline(__always)
func load<V: SIMD>(_ p: UnsafePointer<Float>) -> V where V.Scalar == Float {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

@inline(__always)
func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>) where V.Scalar == Float {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
}

/// C's 6 rows x 2 vectors of columns += the reduction; all twelve accumulators stay in registers.
@inline(__always)
func kernel6x2<V: SIMD>(
    _: V.Type, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ a2: UnsafePointer<Float>,
    _ a3: UnsafePointer<Float>, _ a4: UnsafePointer<Float>, _ a5: UnsafePointer<Float>,
    _ b: UnsafePointer<Float>,
    _ c0: UnsafeMutablePointer<Float>, _ c1: UnsafeMutablePointer<Float>, _ c2: UnsafeMutablePointer<Float>,
    _ c3: UnsafeMutablePointer<Float>, _ c4: UnsafeMutablePointer<Float>, _ c5: UnsafeMutablePointer<Float>,
    _ r: Reduction, _ start: GEMMStart
) where V.Scalar == Float {
    let w = V.scalarCount
    var x00: V = start.initial(c0, 0)
    var x01: V = start.initial(c0, w)
    var x10: V = start.initial(c1, 0)
    var x11: V = start.initial(c1, w)
    var x20: V = start.initial(c2, 0)
    var x21: V = start.initial(c2, w)
    var x30: V = start.initial(c3, 0)
    var x31: V = start.initial(c3, w)
    var x40: V = start.initial(c4, 0)
    var x41: V = start.initial(c4, w)
    var x50: V = start.initial(c5, 0)
    var x51: V = start.initial(c5, w)
    var outerA = 0
    var outerB = 0
    for _ in 0 ..< r.n1 {
        var ia = outerA
        var ib = outerB
        for _ in 0 ..< r.n2 {
            let b0: V = load(b + ib)
            let b1: V = load(b + ib + w)
            var s = V(repeating: a0[ia])
            x00 = multiplyAdd(x00, s, b0)
            x01 = multiplyAdd(x01, s, b1)
            s = V(repeating: a1[ia])
            x10 = multiplyAdd(x10, s, b0)
            x11 = multiplyAdd(x11, s, b1)
            s = V(repeating: a2[ia])
            x20 = multiplyAdd(x20, s, b0)
            x21 = multiplyAdd(x21, s, b1)
            s = V(repeating: a3[ia])
            x30 = multiplyAdd(x30, s, b0)
            x31 = multiplyAdd(x31, s, b1)
            s = V(repeating: a4[ia])
            x40 = multiplyAdd(x40, s, b0)
            x41 = multiplyAdd(x41, s, b1)
            s = V(repeating: a5[ia])
            x50 = multiplyAdd(x50, s, b0)
            x51 = multiplyAdd(x51, s, b1)
            ia &+= r.aStride2
            ib &+= r.bStride2
        }
        outerA &+= r.aStride1
        outerB &+= r.bStride1
    }
    store(x00, c0)
    store(x01, c0 + w)
    store(x10, c1)
    store(x11, c1 + w)
    store(x20, c2)
    store(x21, c2 + w)
    store(x30, c3)
    store(x31, c3 + w)
    store(x40, c4)
    store(x41, c4 + w)
    store(x50, c5)
    store(x51, c5 + w)
}

/// C's 6 rows x 1 vector of columns += the reduction.
@inline(__always)
func kernel6x1<V: SIMD>(
    _: V.Type, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ a2: UnsafePointer<Float>,
    _ a3: UnsafePointer<Float>, _ a4: UnsafePointer<Float>, _ a5: UnsafePointer<Float>,
    _ b: UnsafePointer<Float>,
    _ c0: UnsafeMutablePointer<Float>, _ c1: UnsafeMutablePointer<Float>, _ c2: UnsafeMutablePointer<Float>,
    _ c3: UnsafeMutablePointer<Float>, _ c4: UnsafeMutablePointer<Float>, _ c5: UnsafeMutablePointer<Float>,
    _ r: Reduction, _ start: GEMMStart
) where V.Scalar == Float {
    var x0: V = start.initial(c0, 0)
    var x1: V = start.initial(c1, 0)
    var x2: V = start.initial(c2, 0)
    var x3: V = start.initial(c3, 0)
    var x4: V = start.initial(c4, 0)
    var x5: V = start.initial(c5, 0)
    var outerA = 0
    var outerB = 0
    for _ in 0 ..< r.n1 {
        var ia = outerA
        var ib = outerB
        for _ in 0 ..< r.n2 {
            let b0: V = load(b + ib)
            x0 = multiplyAdd(x0, V(repeating: a0[ia]), b0)
            x1 = multiplyAdd(x1, V(repeating: a1[ia]), b0)
            x2 = multiplyAdd(x2, V(repeating: a2[ia]), b0)
            x3 = multiplyAdd(x3, V(repeating: a3[ia]), b0)
            x4 = multiplyAdd(x4, V(repeating: a4[ia]), b0)
            x5 = multiplyAdd(x5, V(repeating: a5[ia]), b0)
            ia &+= r.aStride2
            ib &+= r.bStride2
        }
        outerA &+= r.aStride1
        outerB &+= r.bStride1
    }
    store(x0, c0)
    store(x1, c1)
    store(x2, c2)
    store(x3, c3)
    store(x4, c4)
    store(x5, c5)
}

#if STN_AVX512
    /// C's 6 rows x (2 16-lane vectors + 8) columns += the reduction: 18 accumulators, which
    /// fit AVX-512's 32 registers (not AVX2's 16).
    @inline(__always)
    func kernel6x2plus8(
        _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ a2: UnsafePointer<Float>,
        _ a3: UnsafePointer<Float>, _ a4: UnsafePointer<Float>, _ a5: UnsafePointer<Float>,
        _ b: UnsafePointer<Float>,
        _ c0: UnsafeMutablePointer<Float>, _ c1: UnsafeMutablePointer<Float>, _ c2: UnsafeMutablePointer<Float>,
        _ c3: UnsafeMutablePointer<Float>, _ c4: UnsafeMutablePointer<Float>, _ c5: UnsafeMutablePointer<Float>,
        _ r: Reduction, _ start: GEMMStart
    ) {
        typealias W = SIMD16<Float>
        typealias N = SIMD8<Float>
        var x00: W = start.initial(c0, 0)
        var x01: W = start.initial(c0, 16)
        var x02: N = start.initial(c0, 32)
        var x10: W = start.initial(c1, 0)
        var x11: W = start.initial(c1, 16)
        var x12: N = start.initial(c1, 32)
        var x20: W = start.initial(c2, 0)
        var x21: W = start.initial(c2, 16)
        var x22: N = start.initial(c2, 32)
        var x30: W = start.initial(c3, 0)
        var x31: W = start.initial(c3, 16)
        var x32: N = start.initial(c3, 32)
        var x40: W = start.initial(c4, 0)
        var x41: W = start.initial(c4, 16)
        var x42: N = start.initial(c4, 32)
        var x50: W = start.initial(c5, 0)
        var x51: W = start.initial(c5, 16)
        var x52: N = start.initial(c5, 32)
        var outerA = 0
        var outerB = 0
        for _ in 0 ..< r.n1 {
            var ia = outerA
            var ib = outerB
            for _ in 0 ..< r.n2 {
                let b0: W = load(b + ib)
                let b1: W = load(b + ib + 16)
                let b2: N = load(b + ib + 32)
                var s = a0[ia]
                x00 = multiplyAdd(x00, W(repeating: s), b0)
                x01 = multiplyAdd(x01, W(repeating: s), b1)
                x02 = multiplyAdd(x02, N(repeating: s), b2)
                s = a1[ia]
                x10 = multiplyAdd(x10, W(repeating: s), b0)
                x11 = multiplyAdd(x11, W(repeating: s), b1)
                x12 = multiplyAdd(x12, N(repeating: s), b2)
                s = a2[ia]
                x20 = multiplyAdd(x20, W(repeating: s), b0)
                x21 = multiplyAdd(x21, W(repeating: s), b1)
                x22 = multiplyAdd(x22, N(repeating: s), b2)
                s = a3[ia]
                x30 = multiplyAdd(x30, W(repeating: s), b0)
                x31 = multiplyAdd(x31, W(repeating: s), b1)
                x32 = multiplyAdd(x32, N(repeating: s), b2)
                s = a4[ia]
                x40 = multiplyAdd(x40, W(repeating: s), b0)
                x41 = multiplyAdd(x41, W(repeating: s), b1)
                x42 = multiplyAdd(x42, N(repeating: s), b2)
                s = a5[ia]
                x50 = multiplyAdd(x50, W(repeating: s), b0)
                x51 = multiplyAdd(x51, W(repeating: s), b1)
                x52 = multiplyAdd(x52, N(repeating: s), b2)
                ia &+= r.aStride2
                ib &+= r.bStride2
            }
            outerA &+= r.aStride1
            outerB &+= r.bStride1
        }
        store(x00, c0)
        store(x01, c0 + 16)
        store(x02, c0 + 32)
        store(x10, c1)
        store(x11, c1 + 16)
        store(x12, c1 + 32)
        store(x20, c2)
        store(x21, c2 + 16)
        store(x22, c2 + 32)
        store(x30, c3)
        store(x31, c3 + 16)
        store(x32, c3 + 32)
        store(x40, c4)
        store(x41, c4 + 16)
        store(x42, c4 + 32)
        store(x50, c5)
        store(x51, c5 + 16)
        store(x52, c5 + 32)
    }
#endif
