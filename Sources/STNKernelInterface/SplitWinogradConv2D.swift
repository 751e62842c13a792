/// A stride-1 convolution of a one-channel image (a grey frame's first layer) whose square
/// kernel is 3s x 3s, s >= 2 (the seed's 9 x 9), by Winograd F(6x6, 3x3) on its s x s pieces
/// of 3 x 3 taps. Tiles of 8 cannot hold a 9-tap filter, and with one input channel the plain
/// Winograd products would have no depth to sum over; split into pieces they sum over the
/// pieces instead:
///
///     out[y][x] = sum over pieces (a, b) of the 3 x 3 correlation of w_ab with the image
///                 shifted by (3a, 3b),   w_ab[p][q] = w[3a + p][3b + q].
///
/// The 6 x 6 output tile at (6 ty, 6 tx) reads piece (a, b) from the 8 x 8 input patch at
/// (3 (2 ty + a), 3 (2 tx + b)): every patch lies on one grid of stride 3, transformed once
/// (V = B^T d B, `gridY x gridX` patches). Then per transformed position ξ one GEMM over
/// the tiles, summing the s^2 pieces: M[ξ][t][co] = sum over (a, b) of V[ξ][grid(t, a, b)]
/// U[ξ][a][b][co]; and the output transform A^T M A. Per output and channel: 64 s^2 / 36
/// products (16 for 9 x 9) against 9 s^2 (81).
///
/// The backward pass is its adjoint: with dM = A dY A^T per tile, the weight gradient
/// dU[ξ][a][b] += sum over tiles of V[ξ][grid(t, a, b)] dM[ξ][t] (mapped back to the filter
/// once per batch, `addWeightGradient`), and the input gradient dV[ξ][grid(t, a, b)] +=
/// dM[ξ][t] U[ξ][a][b], each patch's B dV B^T added onto the image (patches overlap).
/// Layouts: V and dV `[grid][j][i]` (64 floats per patch, the row transform i fastest), U and
/// dU `[ξ][a][b][outCp]` with ξ = i * 8 + j, U^T `[ξ][outCp][s^2 rounded up to 8]`, M
/// and dM `[ξ][tile][outCp]`. Nothing here allocates.
public struct SplitWinogradConv2D: Sendable {
    public let shape: Conv2DShape
    /// Pieces per side: the kernel is 3 s x 3 s.
    public let pieces: Int
    public let transform: WinogradTransform
    public let tilesY: Int, tilesX: Int
    /// Input patches on the stride-3 grid.
    public let gridY: Int, gridX: Int

    /// Whether `shape` can run this way: one input channel, stride 1, a square kernel of
    /// 6, 9, 12, ... taps.
    public static func supports(_ shape: Conv2DShape) -> Bool {
        shape.inC == 1 && shape.strideH == 1 && shape.strideW == 1 && shape.kernelH == shape.kernelW
            && shape.kernelH % 3 == 0 && shape.kernelH >= 6 && shape.outH > 0 && shape.outW > 0
    }

    public init(shape: Conv2DShape) {
        precondition(Self.supports(shape), "split Winograd: unsupported convolution shape")
        self.shape = shape
        pieces = shape.kernelH / 3
        transform = WinogradTransform(kernel: 3)
        tilesY = (shape.outH + 5) / 6
        tilesX = (shape.outW + 5) / 6
        gridY = 2 * (tilesY - 1) + pieces
        gridX = 2 * (tilesX - 1) + pieces
    }

    @inlinable package var tiles: Int { tilesY * tilesX }
    /// Columns of the image the grid's patches cover (past the image: zeros).
    @inlinable package var coveredWidth: Int { 3 * (gridX - 1) + 8 }

    /// Multiplies per output against the direct convolution's (padding tiles included).
    public var multiplyRatio: Double {
        Double(shape.positions * shape.kernelH * shape.kernelW) / Double(tiles * 64 * pieces * pieces)
    }

    @inlinable public var weightFloats: Int { 64 * pieces * pieces * shape.outCp }
    /// U^T, what the input gradient multiplies by.
    @inlinable public var transposedWeightFloats: Int { 64 * shape.outCp * pieceColumns }
    /// The pieces as GEMM columns: s^2 rounded up to 8.
    @inlinable package var pieceColumns: Int { roundUp8(pieces * pieces) }
    /// V, then the column-transformed rows of one grid row, then M (or dM).
    @inlinable public var scratchFloats: Int { 64 * gridY * gridX + 8 * coveredWidth + 64 * tiles * shape.outCp }
    /// `scratchFloats` and the per-tile, per-piece products of the input gradient.
    @inlinable public var backwardScratchFloats: Int { scratchFloats + 64 * tiles * pieceColumns }

    /// U `[64][s][s][outCp]` -> U^T `[64][outCp][16]`, the pieces' padding zero.
    public func transposeWeights(_ u: UnsafePointer<Float>, into uT: UnsafeMutablePointer<Float>) {
        let outCp = shape.outCp
        let columns = pieceColumns
        uT.initialize(repeating: 0, count: transposedWeightFloats)
        for xi in 0 ..< 64 {
            for piece in 0 ..< pieces * pieces {
                for co in 0 ..< outCp {
                    uT[(xi * outCp + co) * columns + piece] = u[(xi * pieces * pieces + piece) * outCp + co]
                }
            }
        }
    }

    /// Adds G^T dU_ab G, the gradient of piece (a, b) of each filter, to PyTorch's
    /// `[outC][1][3s][3s]` weight gradient: once per batch, in Double.
    public func addWeightGradient(_ dU: UnsafePointer<Float>, into w: UnsafeMutablePointer<Float>) {
        let outCp = shape.outCp
        let kernel = shape.kernelW
        let g = transform.g.flatMap { $0 }  // 8 x 3
        let lanes = UnsafeMutablePointer<SIMD8<Double>>.allocate(capacity: 64 + 24)
        defer { lanes.deallocate() }
        let dUG = lanes + 64  // dU G, 8 x 3
        for a in 0 ..< pieces {
            for b in 0 ..< pieces {
                var co = 0
                while co < shape.outC {
                    for xi in 0 ..< 64 {
                        let source = dU + ((xi * pieces + a) * pieces + b) * outCp + co
                        lanes[xi] = doubleLanes(source)
                    }
                    g.withUnsafeBufferPointer { g in
                        transform.filterGradients(lanes, g: g.baseAddress!, scratch: dUG) { tap, value in
                            let (p, q) = (tap / 3, tap % 3)
                            for lane in 0 ..< min(8, shape.outC - co) {
                                w[((co + lane) * kernel + 3 * a + p) * kernel + 3 * b + q] += Float(value[lane])
                            }
                        }
                    }
                    co += 8
                }
            }
        }
    }
}
