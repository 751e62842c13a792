import STNSystem

/// One piece of clutter: a `pieceSize`-square crop of another digit of the split, and where
/// it lands on the canvas.
public struct ClutterPiece: Sendable, Equatable {
    /// Index in the split of the digit it is cut from (never the image's own digit).
    public var source: Int
    /// The crop's top-left corner in that 28x28 digit.
    public var sourceX: Int, sourceY: Int
    /// Its top-left corner on the canvas.
    public var x: Int, y: Int
}

/// One image of cluttered MNIST: where its digit lands and its pieces of clutter.
public struct ClutterParameters: Sendable, Equatable {
    /// The 28x28 digit's top-left corner on the canvas.
    public var digitX: Int, digitY: Int
    public var pieces: [ClutterPiece]
}

/// Translated and cluttered MNIST, the benchmark of the recurrent attention model (Mnih et
/// al. 2014) that Jaderberg et al. (2015, sect. 4.1) also report: a 28x28 digit at a uniformly
/// random position of a black canvas (60 x 60 by default), with `pieces` square crops of
/// random other digits (`pieceSize` pixels) at uniformly random positions, each crop taken at
/// a uniformly random place in its digit. As DeepMind's generator (github.com/deepmind/
/// mnist-cluttered, `placeDistractors` then `placeSpriteRandomly`), the clutter is added to
/// the canvas first and the digit added on top, saturating at 255: the digit's pixels are
/// never dimmed, and clutter may brighten them where it overlaps.
///
/// Image i holds digit i of the split (i modulo its size, for more images than digits);
/// its draws come from its own PRNG stream keyed by (seed, epoch, index), so the same seed
/// gives byte-identical images on any machine and with any thread count. The test split
/// cuts its clutter from t10k digits only.
public struct ClutteredMNIST: Sendable {
    public static let defaultCanvasSize = 60
    /// The count of the 60 x 60 set the STN recipes train on (Lasagne's
    /// mnist_cluttered_60x60_6distortions.npz); the RAM paper used 4 at 60 x 60.
    public static let defaultPieces = 6
    /// DeepMind's generator's `dist_w` and the RAM paper's 8 x 8 pieces.
    public static let defaultPieceSize = 8
    public static let canvasSizes = RTSDistortion.digitSize ... 512
    public static let pieceSizes = 1 ... RTSDistortion.digitSize
    public static let pieceCounts = 0 ... 64

    static let salt: UInt64 = 0x636C_7574_7465_7220  // "clutter "

    public let seed: UInt64
    public let canvasSize: Int
    public let pieces: Int
    public let pieceSize: Int

    public init(
        seed: UInt64, canvasSize: Int = defaultCanvasSize, pieces: Int = defaultPieces,
        pieceSize: Int = defaultPieceSize
    ) {
        precondition(Self.canvasSizes.contains(canvasSize), "canvas size \(canvasSize) outside \(Self.canvasSizes)")
        precondition(Self.pieceCounts.contains(pieces), "\(pieces) pieces outside \(Self.pieceCounts)")
        precondition(Self.pieceSizes.contains(pieceSize), "piece size \(pieceSize) outside \(Self.pieceSizes)")
        self.seed = seed
        self.canvasSize = canvasSize
        self.pieces = pieces
        self.pieceSize = pieceSize
    }

    /// The draws of image `index` in epoch `epoch`, over a split of `digitCount` digits (at
    /// least 2 when there is clutter: it is cut from other digits).
    public func parameters(index: Int, epoch: Int = 0, digitCount: Int) -> ClutterParameters {
        precondition(pieces == 0 || digitCount >= 2, "clutter needs at least two digits")
        var random = PRNG.image(seed: seed, salt: Self.salt, index: index, epoch: epoch)
        let digit = RTSDistortion.digitSize
        let positions = canvasSize - digit + 1
        let digitX = random.nextInt(below: positions)
        let digitY = random.nextInt(below: positions)
        let own = index % digitCount
        var drawn: [ClutterPiece] = []
        drawn.reserveCapacity(pieces)
        for _ in 0 ..< pieces {
            var source = random.nextInt(below: digitCount - 1)
            if source >= own { source += 1 }
            let crops = digit - pieceSize + 1
            let places = canvasSize - pieceSize + 1
            drawn.append(
                ClutterPiece(
                    source: source, sourceX: random.nextInt(below: crops), sourceY: random.nextInt(below: crops),
                    x: random.nextInt(below: places), y: random.nextInt(below: places)))
        }
        return ClutterParameters(digitX: digitX, digitY: digitY, pieces: drawn)
    }

    /// Draws image `index` onto `canvas` (`canvasSize` squared pixels, fully overwritten)
    /// from `digits`, the split's 28x28 digits one after another.
    public func render(
        _ p: ClutterParameters, index: Int, digits: UnsafePointer<UInt8>, digitCount: Int,
        into canvas: UnsafeMutablePointer<UInt8>
    ) {
        let side = canvasSize
        let digit = RTSDistortion.digitSize
        canvas.initialize(repeating: 0, count: side * side)
        func add(_ value: UInt8, at offset: Int) {
            let (sum, overflow) = canvas[offset].addingReportingOverflow(value)
            canvas[offset] = overflow ? 255 : sum
        }
        for piece in p.pieces {
            let from = digits + piece.source * digit * digit
            for y in 0 ..< pieceSize {
                for x in 0 ..< pieceSize {
                    add(from[(piece.sourceY + y) * digit + piece.sourceX + x], at: (piece.y + y) * side + piece.x + x)
                }
            }
        }
        let own = digits + (index % digitCount) * digit * digit
        for y in 0 ..< digit {
            for x in 0 ..< digit { add(own[y * digit + x], at: (p.digitY + y) * side + p.digitX + x) }
        }
    }

    /// `count` cluttered images (default: one per digit of `split`) and their digits' labels.
    /// The result is the same for any thread count.
    public func compose(_ split: MNISTSplit, count: Int? = nil, epoch: Int = 0, threads: Int = 1) -> (
        images: IDXImages, labels: [UInt8]
    ) {
        let digits = split.images
        precondition(
            digits.rows == RTSDistortion.digitSize && digits.columns == RTSDistortion.digitSize,
            "cluttered MNIST expects 28x28 digits")
        let n = digits.count
        let count = count ?? n
        let area = canvasSize * canvasSize
        var pixels = [UInt8](repeating: 0, count: count * area)
        let parts = max(1, min(threads, count))
        digits.pixels.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                let source = source.baseAddress!
                let target = target.baseAddress!
                // Each part writes only its own images of `target`.
                concurrentParts(parts) { part in
                    for i in count * part / parts ..< count * (part + 1) / parts {
                        render(
                            parameters(index: i, epoch: epoch, digitCount: n), index: i, digits: source, digitCount: n,
                            into: target + i * area)
                    }
                }
            }
        }
        let labels = (0 ..< count).map { split.labels[$0 % n] }
        return (IDXImages(count: count, rows: canvasSize, columns: canvasSize, pixels: pixels), labels)
    }
}
