/// One frame's answer, in fixed-size storage so filling it never allocates.
public struct InferenceResult: Sendable, Equatable {
    /// The predicted class (for digits, the digit).
    public var digit: Int = 0
    /// exp(log-probability) of `digit`.
    public var probability: Float = 0
    /// The log-probabilities of the model's classes in lanes 0 ..< storedClassCount (the
    /// first 64 classes; `Engine.lastLogProbabilities` has every class of a larger model).
    public var logProbs = SIMD64<Float>()
    /// The model's classes (`digit` is the most probable of all of them).
    public var classCount = 0
    /// The first transformer's parameters in lanes 0 ..< thetaCount (affine: the 2 x 3
    /// matrix [[a, b, tx], [c, d, ty]] row-major).
    public var theta = SIMD32<Float>()
    public var thetaCount = 0
    /// False when a logit or a transform parameter was not finite: the answer means nothing.
    public var isFinite = true

    public init() {}

    public var hasTheta: Bool { thetaCount > 0 }
    /// Classes whose log-probability `logProbs` holds.
    public var storedClassCount: Int { min(classCount, logProbs.scalarCount) }
    /// The stored log-probabilities as an array (allocates; for output, not the hot path).
    public var logProbabilities: [Float] { (0 ..< storedClassCount).map { logProbs[$0] } }
    /// theta's values, or an empty array for models without a transformer.
    public var thetaValues: [Float] { (0 ..< thetaCount).map { theta[$0] } }
}

/// Why an engine could not be built. One line, naming the file when there is one.
public struct EngineError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
