#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// What an affine theta does to the digit, in the terms of the RTS distortion: the rotation
/// it undoes and the size of the region it samples.
///
/// theta = [[a, b, tx], [c, d, ty]] maps a point of the transformer's output to where it
/// samples the input, both in normalised coordinates (`F.affine_grid`). An input digit that
/// RTS rotated by angle r (degrees, counter-clockwise as torchvision) and scaled by s is
/// shown upright and at its original size by theta = s * [[cos r, -sin r], [sin r, cos r]]
/// (plus the translation to its centre): for that theta, `rotationDegrees` is r and `scale`
/// is s. A transformer that undoes the whole rotation therefore has rotationDegrees equal to
/// the input's angle; one that undoes none (the identity) has 0.
public struct AffinePose: Sendable, Equatable {
    /// The counter-clockwise rotation of the input that theta undoes, in degrees: the angle of
    /// the rotation nearest to theta's linear part (its polar decomposition), so shear and
    /// anisotropic scale do not bias it.
    public var rotationDegrees: Double
    /// sqrt(|det|) of theta's linear part: the side of the sampled region relative to the
    /// frame. Below 1 the transformer zooms in.
    public var scale: Double
    /// Where the output's centre samples the input, in normalised coordinates.
    public var translationX: Double
    public var translationY: Double

    public init(rotationDegrees: Double, scale: Double, translationX: Double = 0, translationY: Double = 0) {
        self.rotationDegrees = rotationDegrees
        self.scale = scale
        self.translationX = translationX
        self.translationY = translationY
    }

    /// Reads the pose of a theta given as six row-major values (a, b, tx, c, d, ty).
    public init<C: Collection>(theta: C) where C.Element == Float {
        precondition(theta.count == 6, "theta has 6 values, got \(theta.count)")
        let t = theta.map(Double.init)
        let (a, b, c, d) = (t[0], t[1], t[3], t[4])
        // The nearest rotation to [[a, b], [c, d]] has angle atan2(c - b, a + d).
        rotationDegrees = atan2(c - b, a + d) * 180 / Double.pi
        scale = abs(a * d - b * c).squareRoot()
        translationX = t[2]
        translationY = t[5]
    }

    /// The similarity theta of this pose (six row-major values), the inverse of `init(theta:)`
    /// for thetas without shear.
    public var theta: [Float] {
        let r = rotationDegrees * Double.pi / 180
        return [scale * cos(r), -scale * sin(r), translationX, scale * sin(r), scale * cos(r), translationY].map {
            Float($0)
        }
    }
}
