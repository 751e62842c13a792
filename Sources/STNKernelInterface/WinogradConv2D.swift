/// A stride-1 valid convolution over one NHWC image by Winograd F(m x m, r x r) on alpha x
/// alpha tiles, alpha = m + r - 1 = 4, 6 or 8 (`WinogradTransform`): per tile, alpha^2
/// products per (input, output) channel pair instead of m^2 r^2 (F(2x2, 7x7): 64 against
/// 196; F(4x4, 3x3): 36 against 144; F(2x2, 3x3): 16 against 36). Small tiles suit small
/// maps: fewer transformed weights (alpha^2 inC outC) to stream per image, more tiles to
/// spread them over. The forward pass serves inference and training; `backward` (below) is
/// its adjoint, the trainer's gradients in the same domain.
///
/// Per block of tile rows, with ξ (0 ..< alpha^2) the transformed position:
///   1. input transform  V[ξ][tile][ci] = (B^T d B)[ξ], d the tile's alpha x alpha input patch;
///   2. alpha^2 GEMMs    M[ξ][tile][co] = sum over ci of V[ξ][tile][ci] * U[ξ][ci][co];
///   3. output transform out = bias + A^T M A, the m x m outputs that fall in the image.
/// Both transforms run down the channels in SIMD registers and work in place in the scratch.
/// The weights U (alpha^2 x inC x outCp) are transformed once, in Double, from the direct
/// packing (after any batch-norm folding). Nothing here allocates.
public struct WinogradConv2D: Sendable {
    public let shape: Conv2DShape
    /// Input channels carrying data (the rest of inC is zero padding): the GEMMs' depth.
    public let realInC: Int
    public let transform: WinogradTransform
    public let tilesY: Int, tilesX: Int
    /// Tile rows transformed and multiplied together (bounds the scratch).
    public let tileRowsPerBlock: Int

    /// Whether `shape` can run this way on tiles of `alpha`: stride 1, a square kernel of 2 to
    /// alpha - 1 taps, channels in 8s.
    public static func supports(_ shape: Conv2DShape, alpha: Int = WinogradTransform.maxAlpha) -> Bool {
        [4, 6, 8].contains(alpha) && shape.strideH == 1 && shape.strideW == 1 && shape.kernelH == shape.kernelW
            && (2 ... alpha - 1).contains(shape.kernelH) && shape.inC % 8 == 0 && shape.outH > 0 && shape.outW > 0
    }

    public init(
        shape: Conv2DShape, realInC: Int, alpha: Int = WinogradTransform.maxAlpha, tileRowsPerBlock: Int? = nil
    ) {
        precondition(Self.supports(shape, alpha: alpha), "Winograd: unsupported convolution shape")
        self.shape = shape
        self.realInC = realInC
        transform = WinogradTransform(kernel: shape.kernelH, alpha: alpha)
        let m = transform.outputTile
        tilesY = (shape.outH + m - 1) / m
        tilesX = (shape.outW + m - 1) / m
        // About 96 KiB of V and M per block, so they stay in L2 next to the weights.
        let perRow = alpha * alpha * tilesX * (shape.inC + shape.outCp)
        self.tileRowsPerBlock = min(tilesY, max(1, tileRowsPerBlock ?? (24_576 / perRow)))
    }

    /// Transformed positions per tile: alpha^2.
    @inlinable public var transformedPositions: Int { transform.alpha * transform.alpha }
    @inlinable public var tiles: Int { tilesY * tilesX }

    @inlinable public var weightFloats: Int { transformedPositions * shape.inC * shape.outCp }
    @inlinable public var scratchFloats: Int {
        transformedPositions * tileRowsPerBlock * tilesX * (shape.inC + shape.outCp)
    }
}

extension WinogradConv2D {
    /// Tile rows per block of the backward pass: up to about 768 KiB of V and dM (all of a
    /// 17 x 17 image's 36 tiles), so that the weight-gradient GEMMs sum over many tiles
    /// between loads and stores of their accumulators.
    @inlinable public var backwardTileRowsPerBlock: Int {
        min(tilesY, max(1, 196_608 / (transformedPositions * tilesX * (shape.inC + shape.outCp))))
    }

    /// Scratch floats of `backward`.
    @inlinable public var backwardScratchFloats: Int {
        transformedPositions * backwardTileRowsPerBlock * tilesX * (shape.inC + shape.outCp)
    }

    /// U `[alpha^2][inC][outCp]` -> U^T `[alpha^2][outCp][inC]`, the layout the input gradient
    /// reads (`weightFloats` floats).
    public func transposeWeights(_ u: UnsafePointer<Float>, into uT: UnsafeMutablePointer<Float>) {
        let inC = shape.inC
        let outCp = shape.outCp
        for xi in 0 ..< transformedPositions {
            let source = u + xi * inC * outCp
            let target = uT + xi * inC * outCp
            for co in 0 ..< outCp {
                for ci in 0 ..< inC { target[co * inC + ci] = source[ci * outCp + co] }
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
        let alpha = transform.alpha
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
