/// One frame's answer, in fixed-size storage so filling it never allocates.
public struct InferenceResult: Sendable, Equatable {
    /// The predicted digit, 0-9.
    public var digit: Int = 0
    /// exp(log-probability) of `digit`.
    public var probability: Float = 0
    /// The 10 log-probabilities in lanes 0...9 (lanes 10...15 are unused).
    public var logProbs = SIMD16<Float>()
    /// theta = [[a, b, tx], [c, d, ty]] row-major in lanes 0...5, ST models only.
    public var theta = SIMD8<Float>()
    public var hasTheta = false

    public init() {}

    /// The 10 log-probabilities as an array (allocates; for output, not the hot path).
    public var logProbabilities: [Float] { (0 ..< 10).map { logProbs[$0] } }
    /// theta's six values, or an empty array for models without a transformer.
    public var thetaValues: [Float] { hasTheta ? (0 ..< 6).map { theta[$0] } : [] }
}

/// Wall time spent in each stage of one frame, in nanoseconds (for `stn-bench`).
public struct StageTimes: Sendable {
    /// Downsample and localisation net (ST models).
    public var localisation: UInt64 = 0
    /// Affine grid generator.
    public var grid: UInt64 = 0
    /// Bilinear sampler.
    public var sampler: UInt64 = 0
    /// Convolutions, pooling, fully connected layers and log-softmax.
    public var classifier: UInt64 = 0

    public init() {}

    public static func += (a: inout StageTimes, b: StageTimes) {
        a.localisation += b.localisation
        a.grid += b.grid
        a.sampler += b.sampler
        a.classifier += b.classifier
    }
}

/// Why an engine could not be built. One line, naming the file when there is one.
public struct EngineError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
