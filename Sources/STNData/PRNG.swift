/// The project's one source of randomness: SplitMix64 (Steele, Lea and Flood, 2014) with
/// its starting state derived from a (seed, stream) pair.
///
/// Every random decision names its stream (a tensor's initialisation, an epoch's shuffle,
/// one image's RTS draw), so results do not depend on the order work is done in, on the
/// thread count, or on the machine: only integer arithmetic is involved, and floats are
/// made from the top bits of a draw in a fully specified way.
public struct PRNG: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64, stream: UInt64 = 0) {
        state = PRNG.mix(seed ^ PRNG.mix(stream &+ 0x632B_E59B_D9B4_E019))
    }

    /// The SplitMix64 output function: a bijective 64-bit mixer.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return PRNG.mix(state)
    }

    /// Uniform in [0, 1) with 53 bits: the top 53 bits of one draw, scaled.
    @inline(__always)
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform in [0, 1) with 24 bits.
    @inline(__always)
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Uniform integer in 0..<bound (multiply-shift on the top 32 bits; the bias for
    /// bounds this small is below 2^-27).
    @inline(__always)
    public mutating func nextInt(below bound: Int) -> Int {
        Int(((next() >> 32) &* UInt64(bound)) >> 32)
    }
}
