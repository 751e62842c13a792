import STNSystem

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// One of the distorted-MNIST variants of Jaderberg et al. (2015), table 1: R (rotation),
/// RTS (rotation, translation, scale), P (projective) and E (elastic).
///
/// A distortion turns a 28x28 MNIST digit into a `canvasSide` x `canvasSide` image. Image
/// `index` of epoch `epoch` draws its random parameters from its own PRNG stream, keyed by
/// (seed, epoch, index): the same seed gives byte-identical images on any machine, in any
/// order and with any thread count. Training draws epoch 0, 1, 2, ...; the standard test set
/// of every variant is t10k with seed 1, epoch 0.
///
/// `render` is what a training loop calls per image: it allocates nothing, writing only
/// `canvas` and the caller's `workspace` (one per thread, made once with `makeWorkspace()`).
public protocol DigitDistortion: Sendable {
    /// The variant's short name, as in the paper and on the command line: "r", "rts", "p", "e".
    var name: String { get }
    /// Side of the square images this distortion writes (42 for RTS, else 28).
    var canvasSide: Int { get }
    /// How many `Double`s of scratch one `render` needs (0: none).
    var workspaceCount: Int { get }

    /// Distorts the 28x28 `digit` as image `index` of epoch `epoch`, overwriting all
    /// `canvasSide * canvasSide` pixels of `canvas`.
    func render(
        digit: UnsafePointer<UInt8>, index: Int, epoch: Int, into canvas: UnsafeMutablePointer<UInt8>,
        workspace: DistortionWorkspace)

    /// Distorts every 28x28 image of `digits` (image i as index i of `epoch`). The result is
    /// the same for any thread count.
    func distort(_ digits: IDXImages, epoch: Int, threads: Int) -> IDXImages
}

/// Scratch memory for one thread's `render` calls: allocated once, reused for every image.
/// Not shared between threads (each part of `distort` makes its own).
public final class DistortionWorkspace {
    /// How many `Double`s `doubles` holds.
    public let count: Int
    /// The scratch memory (contents undefined between calls).
    public let doubles: UnsafeMutablePointer<Double>

    public init(count: Int) {
        precondition(count >= 0, "a workspace has a non-negative size")
        self.count = count
        doubles = .allocate(capacity: max(1, count))
        doubles.initialize(repeating: 0, count: max(1, count))
    }

    deinit {
        doubles.deallocate()
    }
}

extension DigitDistortion {
    /// A workspace big enough for this distortion's `render`.
    public func makeWorkspace() -> DistortionWorkspace {
        DistortionWorkspace(count: workspaceCount)
    }

    /// Distorts every 28x28 image of `digits` into a `canvasSide`-square image (draws of
    /// `epoch`), splitting the images between `threads` threads, each with its own workspace.
    public func distort(_ digits: IDXImages, epoch: Int = 0, threads: Int = 1) -> IDXImages {
        let digitSide = RTSDistortion.digitSize
        precondition(digits.rows == digitSide && digits.columns == digitSide, "\(name) expects 28x28 digits")
        let side = canvasSide
        let count = digits.count
        var pixels = [UInt8](repeating: 0, count: count * side * side)
        let parts = max(1, min(threads, count))
        digits.pixels.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                let source = source.baseAddress!
                let target = target.baseAddress!
                // Each part writes only its own images of `target` and its own workspace.
                concurrentParts(parts) { part in
                    let workspace = makeWorkspace()
                    for i in count * part / parts ..< count * (part + 1) / parts {
                        render(
                            digit: source + i * digitSide * digitSide, index: i, epoch: epoch,
                            into: target + i * side * side, workspace: workspace)
                    }
                }
            }
        }
        return IDXImages(count: count, rows: side, columns: side, pixels: pixels)
    }
}

/// The variants by name, for tools and recipes that choose one by its short name.
public enum DigitDistortions {
    /// Every variant's name, in the paper's table order.
    public static let names = ["r", "rts", "p", "e"]

    /// The variant called `name` ("r", "rts", "p" or "e") with its default settings, or nil.
    public static func named(_ name: String, seed: UInt64) -> (any DigitDistortion)? {
        switch name {
        case "r": return RotationDistortion(seed: seed)
        case "rts": return RTSDistortion(seed: seed)
        case "p": return ProjectiveDistortion(seed: seed)
        case "e": return ElasticDistortion(seed: seed)
        default: return nil
        }
    }
}

/// RTS as a `DigitDistortion`: its parameters and bytes are exactly `parameters(index:epoch:)`
/// rendered by `render(digit:_:into:)` (no workspace needed).
extension RTSDistortion: DigitDistortion {
    public var name: String { "rts" }
    public var canvasSide: Int { Self.canvasSize }
    public var workspaceCount: Int { 0 }

    public func render(
        digit: UnsafePointer<UInt8>, index: Int, epoch: Int, into canvas: UnsafeMutablePointer<UInt8>,
        workspace: DistortionWorkspace
    ) {
        Self.render(digit: digit, parameters(index: index, epoch: epoch), into: canvas)
    }
}

extension PRNG {
    /// The stream of image `index` in epoch `epoch` (RTS's key: epoch in the high 32 bits),
    /// with `salt` folded into the seed so that R, P and E with the same seed draw
    /// independently of RTS and of each other.
    static func image(seed: UInt64, salt: UInt64, index: Int, epoch: Int) -> PRNG {
        PRNG(seed: seed ^ salt, stream: UInt64(truncatingIfNeeded: epoch) << 32 | UInt64(truncatingIfNeeded: index))
    }

    /// A standard normal draw (Box-Muller on two uniforms; the sine branch is not kept, so
    /// every normal costs exactly two draws).
    mutating func nextGaussian() -> Double {
        let u1 = 1 - nextUnitDouble()  // (0, 1]: the logarithm is finite
        let u2 = nextUnitDouble()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
