import STNData

/// The data a model trains and is tested on.
public enum Distortion: String, Sendable, CaseIterable {
    /// Plain MNIST: 28 x 28 digits as they are.
    case none
    /// Rotated (+-45 degrees), scaled (0.7-1.2) and placed at random in a 42 x 42 frame: a
    /// fresh draw for every image each epoch; the test set is MNIST t10k drawn with seed 1.
    case rts

    /// Side of the square frames this data gives.
    public var side: Int { self == .rts ? RTSDistortion.canvasSize : RTSDistortion.digitSize }

    /// The fixed test set for this data: MNIST's t10k, distorted with seed 1 where it applies.
    public func testSet(_ t10k: IDXImages, threads: Int) -> IDXImages {
        switch self {
        case .none: return t10k
        case .rts: return RTSDistortion(seed: 1).distort(t10k, epoch: 0, threads: threads)
        }
    }
}
