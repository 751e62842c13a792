/// The rotated MNIST (R) of Jaderberg et al. (2015), appendix A.4: each 28x28 digit rotated
/// about its centre by an angle uniform in [-90, 90] degrees, on its own 28x28 canvas.
///
/// The rotation is RTS's at scale 1, byte for byte: torchvision's inverse affine matrix about
/// (14, 14), sampled nearest-neighbour by Pillow's 16.16 fixed-point affine transform, zero
/// fill (`RTSDistortion.render`, which the tests pin to torchvision). Corners that turn out of
/// the canvas are cut; a digit's ink lies within its central 20x20 box and mostly survives.
public struct RotationDistortion: DigitDistortion {
    public static let canvasSize = RTSDistortion.digitSize
    public static let angleRange = -90.0 ... 90.0
    /// Folded into the seed: R's draws are independent of RTS's with the same seed.
    static let salt: UInt64 = 0x726F_7461_7469_6F6E  // "rotation"

    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// The rotation of image `index` in epoch `epoch`, in degrees (counter-clockwise, as
    /// torchvision): the stream's first uniform draw mapped onto `angleRange`.
    public func angleDegrees(index: Int, epoch: Int = 0) -> Double {
        var random = PRNG.image(seed: seed, salt: Self.salt, index: index, epoch: epoch)
        return Self.angleRange.lowerBound + (Self.angleRange.upperBound - Self.angleRange.lowerBound)
            * random.nextUnitDouble()
    }

    /// Rotates a 28x28 digit by `angleDegrees` about (14, 14) into a 28x28 canvas, which is
    /// fully overwritten. Angle 0 copies the digit.
    public static func render(
        digit: UnsafePointer<UInt8>, angleDegrees: Double, into canvas: UnsafeMutablePointer<UInt8>
    ) {
        canvas.initialize(repeating: 0, count: canvasSize * canvasSize)
        RTSDistortion.rotateAndScale(
            digit: digit, angleDegrees: angleDegrees, scale: 1, into: canvas, rowStride: canvasSize)
    }

    public var name: String { "r" }
    public var canvasSide: Int { Self.canvasSize }
    public var workspaceCount: Int { 0 }

    public func render(
        digit: UnsafePointer<UInt8>, index: Int, epoch: Int, into canvas: UnsafeMutablePointer<UInt8>,
        workspace: DistortionWorkspace
    ) {
        Self.render(digit: digit, angleDegrees: angleDegrees(index: index, epoch: epoch), into: canvas)
    }
}
