/// Bilinear sampling, shared by the P and E distortions (28x28 digits) and by `Augmentation`
/// (images of any size and channel count, bytes or floats).
///
/// Coordinates are continuous pixel coordinates as in RTS and Pillow: pixel (i, j) covers
/// [i, i + 1) x [j, j + 1) and its value sits at its centre (i + 0.5, j + 0.5). Outside the
/// image it is zero, so a sample near the border blends with black (zero fill).
enum Resampling {
    static let side = RTSDistortion.digitSize

    /// The digit's bilinear interpolation at (x, y); 0 far outside the digit or for NaN.
    @inline(__always)
    static func bilinear(_ digit: UnsafePointer<UInt8>, x: Double, y: Double) -> Double {
        BilinearTap(x: x, y: y, width: side, height: side).sample(digit, pixelStride: 1)
    }

    /// A sample rounded to the nearest byte (halves up), clamped to 0...255 (NaN gives 0).
    @inline(__always)
    static func byte(_ value: Double) -> UInt8 {
        let rounded = (value + 0.5).rounded(.down)
        return !(rounded > 0) ? 0 : rounded >= 255 ? 255 : UInt8(rounded)
    }
}

/// A pixel type sampling reads and writes: bytes (rounded to the nearest, clamped) or floats.
public protocol ResamplingPixel: Sendable {
    var sampleValue: Double { get }
    init(sample: Double)
}

extension UInt8: ResamplingPixel {
    @inline(__always) public var sampleValue: Double { Double(self) }
    @inline(__always) public init(sample: Double) { self = Resampling.byte(sample) }
}

extension Float: ResamplingPixel {
    @inline(__always) public var sampleValue: Double { Double(self) }
    /// NaN (a sample through a degenerate map) gives 0, as for bytes.
    @inline(__always) public init(sample: Double) { self = sample.isNaN ? 0 : Float(sample) }
}

/// Where one bilinear sample at (x, y) of a width x height image reads, and with what
/// weights: worked out once per point, then read for each channel.
struct BilinearTap {
    let x0: Int
    let y0: Int
    let tx: Double
    let ty: Double
    let width: Int
    let height: Int
    /// False far outside the image (or for NaN): the sample is 0.
    let inside: Bool

    @inline(__always)
    init(x: Double, y: Double, width: Int, height: Int) {
        let fx = x - 0.5
        let fy = y - 0.5
        self.width = width
        self.height = height
        // Written so that NaN fails the test too.
        inside = fx > -1 && fx < Double(width) && fy > -1 && fy < Double(height)
        guard inside else {
            (x0, y0, tx, ty) = (0, 0, 0, 0)
            return
        }
        let floorX = fx.rounded(.down)
        let floorY = fy.rounded(.down)
        tx = fx - floorX
        ty = fy - floorY
        x0 = Int(floorX)
        y0 = Int(floorY)
    }

    /// The sample of the channel that starts at `image`, pixels `pixelStride` values apart
    /// (1 for one channel or planes; the channel count for interleaved channels).
    @inline(__always)
    func sample<Pixel: ResamplingPixel>(_ image: UnsafePointer<Pixel>, pixelStride: Int) -> Double {
        guard inside else { return 0 }
        @inline(__always) func pixel(_ i: Int, _ j: Int) -> Double {
            i >= 0 && i < width && j >= 0 && j < height ? image[(j * width + i) * pixelStride].sampleValue : 0
        }
        let top = (1 - tx) * pixel(x0, y0) + tx * pixel(x0 + 1, y0)
        let bottom = (1 - tx) * pixel(x0, y0 + 1) + tx * pixel(x0 + 1, y0 + 1)
        return (1 - ty) * top + ty * bottom
    }
}
