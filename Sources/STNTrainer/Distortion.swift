import STNData

/// The data a model trains and is tested on.
public enum Distortion: String, Sendable, CaseIterable {
    /// Plain MNIST: 28 x 28 digits as they are.
    case none
    /// Rotated (+-45 degrees), scaled (0.7-1.2) and placed at random in a 42 x 42 frame.
    case rts
    /// The paper's other distortions on 28 x 28 frames: rotation (R), projective (P) and
    /// elastic (E); docs/table1.md gives their parameters.
    case r, p, e

    /// Side of the square frames this data gives.
    public var side: Int { self == .rts ? RTSDistortion.canvasSize : RTSDistortion.digitSize }

    /// The distortion drawn with `seed` (nil for plain digits). Training draws a fresh one
    /// for every image each epoch, keyed by (seed, epoch, index).
    public func distortion(seed: UInt64) -> (any DigitDistortion)? {
        self == .none ? nil : DigitDistortions.named(rawValue, seed: seed)
    }

    /// The fixed test set for this data: MNIST's t10k, distorted with seed 1, epoch 0.
    public func testSet(_ t10k: IDXImages, threads: Int) -> IDXImages {
        guard let distortion = distortion(seed: 1) else { return t10k }
        return distortion.distort(t10k, epoch: 0, threads: threads)
    }
}
