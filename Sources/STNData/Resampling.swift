/// Bilinear sampling of a 28x28 digit, shared by the P and E distortions.
///
/// Coordinates are continuous pixel coordinates as in RTS and Pillow: pixel (i, j) covers
/// [i, i + 1) x [j, j + 1) and its value sits at its centre (i + 0.5, j + 0.5). Outside the
/// digit the image is zero, so a sample near the border blends with black (zero fill).
enum Resampling {
    static let side = RTSDistortion.digitSize

    /// The digit's bilinear interpolation at (x, y); 0 far outside the digit or for NaN.
    @inline(__always)
    static func bilinear(_ digit: UnsafePointer<UInt8>, x: Double, y: Double) -> Double {
        let fx = x - 0.5
        let fy = y - 0.5
        let limit = Double(side)
        // Written so that NaN fails the test too.
        guard fx > -1 && fx < limit && fy > -1 && fy < limit else { return 0 }
        let floorX = fx.rounded(.down)
        let floorY = fy.rounded(.down)
        let tx = fx - floorX
        let ty = fy - floorY
        let x0 = Int(floorX)
        let y0 = Int(floorY)
        @inline(__always) func pixel(_ i: Int, _ j: Int) -> Double {
            i >= 0 && i < side && j >= 0 && j < side ? Double(digit[j * side + i]) : 0
        }
        let top = (1 - tx) * pixel(x0, y0) + tx * pixel(x0 + 1, y0)
        let bottom = (1 - tx) * pixel(x0, y0 + 1) + tx * pixel(x0 + 1, y0 + 1)
        return (1 - ty) * top + ty * bottom
    }

    /// A sample rounded to the nearest byte (halves up), clamped to 0...255 (NaN gives 0).
    @inline(__always)
    static func byte(_ value: Double) -> UInt8 {
        let rounded = (value + 0.5).rounded(.down)
        return !(rounded > 0) ? 0 : rounded >= 255 ? 255 : UInt8(rounded)
    }
}
