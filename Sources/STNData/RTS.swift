import Dispatch
import STNSystem

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// One image's distortion: rotation (degrees, counter-clockwise as torchvision), isotropic
/// scale, and where the 28x28 result is pasted in the 42x42 canvas.
public struct RTSParameters: Sendable, Equatable {
    public var angleDegrees: Double
    public var scale: Double
    public var offsetX: Int
    public var offsetY: Int

    public init(angleDegrees: Double, scale: Double, offsetX: Int, offsetY: Int) {
        self.angleDegrees = angleDegrees
        self.scale = scale
        self.offsetX = offsetX
        self.offsetY = offsetY
    }
}

/// The rotated, translated and scaled MNIST of Jaderberg et al. (2015), appendix A.4, as
/// the seed builds it: torchvision `RandomAffine(degrees=(-45, 45), scale=(0.7, 1.2))` on
/// the 28x28 PIL digit (nearest neighbour, zero fill, centre (14, 14)), then a paste at a
/// uniformly random offset in {0..13} x {0..13} of a zero 42x42 canvas.
///
/// Each image's parameters come from its own PRNG stream, keyed by (seed, epoch, index):
/// the same seed gives byte-identical images on any machine and with any thread count.
/// Training draws epoch 0, 1, 2, ...; the standard test set is t10k with seed 1, epoch 0.
public struct RTSDistortion: Sendable {
    public static let canvasSize = 42
    public static let digitSize = 28
    public static let angleRange = -45.0 ... 45.0
    public static let scaleRange = 0.7 ... 1.2
    /// Offsets 0...13: the 28-pixel digit always fits in the 42-pixel canvas.
    public static let maximumOffset = canvasSize - digitSize - 1

    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// The distortion of image `index` in epoch `epoch`.
    public func parameters(index: Int, epoch: Int = 0) -> RTSParameters {
        var random = PRNG(
            seed: seed, stream: UInt64(truncatingIfNeeded: epoch) << 32 | UInt64(truncatingIfNeeded: index))
        let angle =
            Self.angleRange.lowerBound + (Self.angleRange.upperBound - Self.angleRange.lowerBound)
            * random.nextUnitDouble()
        let scale =
            Self.scaleRange.lowerBound + (Self.scaleRange.upperBound - Self.scaleRange.lowerBound)
            * random.nextUnitDouble()
        let offsets = Self.maximumOffset + 1
        return RTSParameters(
            angleDegrees: angle, scale: scale,
            offsetX: random.nextInt(below: offsets), offsetY: random.nextInt(below: offsets))
    }

    /// The inverse affine map torchvision hands PIL for a rotation about (14, 14) and a
    /// scale: output pixel (x, y) samples the input at m * (x + 0.5, y + 0.5) + (m2, m5).
    /// Operation order follows torchvision's `_get_inverse_affine_matrix` exactly. Elements
    /// 0-5 are the matrix (6 and 7 are zero): a SIMD value, so rendering allocates nothing.
    /// `centre` is the rotation's centre: the digit's (14, 14) unless given (`Augmentation`
    /// turns images of any size about their own centres).
    static func inverseMatrix(
        angleDegrees: Double, scale: Double, centre: SIMD2<Double> = SIMD2(repeating: Double(digitSize) * 0.5)
    ) -> SIMD8<Double> {
        let rotation = angleDegrees * (Double.pi / 180)
        var m = SIMD8<Double>(
            cos(rotation) / scale, sin(rotation) / scale, 0.0 / scale, -sin(rotation) / scale, cos(rotation) / scale,
            0.0 / scale, 0, 0)
        m[2] += m[0] * (-centre.x) + m[1] * (-centre.y)
        m[5] += m[3] * (-centre.x) + m[4] * (-centre.y)
        m[2] += centre.x
        m[5] += centre.y
        return m
    }

    /// Rotates and scales a 28x28 digit (nearest neighbour, zero fill) exactly as Pillow's
    /// affine transform does (16.16 fixed point, or its pure-scale path at angle 0), and
    /// pastes it into a 42x42 canvas, which is fully overwritten.
    public static func render(digit: UnsafePointer<UInt8>, _ p: RTSParameters, into canvas: UnsafeMutablePointer<UInt8>)
    {
        canvas.initialize(repeating: 0, count: canvasSize * canvasSize)
        rotateAndScale(
            digit: digit, angleDegrees: p.angleDegrees, scale: p.scale,
            into: canvas + p.offsetY * canvasSize + p.offsetX, rowStride: canvasSize)
    }

    /// Writes the 28x28 rotated and scaled digit (Pillow's nearest-neighbour affine transform,
    /// as `render` describes) at `origin`, rows `rowStride` apart; pixels that sample outside
    /// the digit are left as they are (the caller zeroes them). Shared with the R distortion.
    static func rotateAndScale(
        digit: UnsafePointer<UInt8>, angleDegrees: Double, scale: Double, into origin: UnsafeMutablePointer<UInt8>,
        rowStride canvasSize: Int
    ) {
        let a = inverseMatrix(angleDegrees: angleDegrees, scale: scale)
        let n = digitSize
        if a[1] == 0 && a[3] == 0 {
            // Pillow's ImagingScaleAffine: floating point, truncation toward -1 below zero.
            func coord(_ v: Double) -> Int { v < 0 ? -1 : Int(v) }
            var yo = a[5] + a[4] * 0.5
            for y in 0 ..< n {
                let yi = coord(yo)
                if yi >= 0 && yi < n {
                    var xo = a[2] + a[0] * 0.5
                    for x in 0 ..< n {
                        let xi = coord(xo)
                        if xi >= 0 && xi < n { origin[y * canvasSize + x] = digit[yi * n + xi] }
                        xo += a[0]
                    }
                }
                yo += a[4]
            }
            return
        }
        // Pillow's affine_fixed: 16.16 fixed point, FIX(v) = floor(v * 65536 + 0.5).
        func fix(_ v: Double) -> Int32 { Int32(truncatingIfNeeded: Int((v * 65536 + 0.5).rounded(.down))) }
        let a0 = fix(a[0])
        let a1 = fix(a[1])
        let a3 = fix(a[3])
        let a4 = fix(a[4])
        var rowX = fix(a[2] + a[0] * 0.5 + a[1] * 0.5)
        var rowY = fix(a[5] + a[3] * 0.5 + a[4] * 0.5)
        for y in 0 ..< n {
            var xx = rowX
            var yy = rowY
            let out = origin + y * canvasSize
            for x in 0 ..< n {
                let xi = Int(xx >> 16)
                let yi = Int(yy >> 16)
                if xi >= 0 && xi < n && yi >= 0 && yi < n { out[x] = digit[yi * n + xi] }
                xx &+= a0
                yy &+= a3
            }
            rowX &+= a1
            rowY &+= a4
        }
    }

    /// Distorts every 28x28 image of `digits` into a 42x42 image (draws of `epoch`).
    /// The result is the same for any thread count.
    public func distort(_ digits: IDXImages, epoch: Int = 0, threads: Int = 1) -> IDXImages {
        precondition(digits.rows == Self.digitSize && digits.columns == Self.digitSize, "RTS expects 28x28 digits")
        let side = Self.canvasSize
        var pixels = [UInt8](repeating: 0, count: digits.count * side * side)
        let count = digits.count
        let parts = max(1, min(threads, count))
        digits.pixels.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                let source = source.baseAddress!
                let target = target.baseAddress!
                // Each part writes only its own images of `target`.
                concurrentParts(parts) { part in
                    let start = count * part / parts
                    let end = count * (part + 1) / parts
                    for i in start ..< end {
                        Self.render(
                            digit: source + i * Self.digitSize * Self.digitSize, parameters(index: i, epoch: epoch),
                            into: target + i * side * side)
                    }
                }
            }
        }
        return IDXImages(count: count, rows: side, columns: side, pixels: pixels)
    }
}
