extension UnsafeBufferPointer where Element == Float {
    /// The index of the first NaN or infinity, or nil when every value is finite.
    ///
    /// Weight files are checked at every load, so at every start-up: one pass that sums
    /// `x * 0` in SIMD lanes (NaN exactly when some x is NaN or infinite; no early exit, so
    /// it vectorises) finds whether there is one, and only then a scalar pass finds where.
    public func firstNonFinite() -> Int? {
        guard let base = baseAddress else { return nil }
        var lanes = SIMD16<Float>()
        var i = 0
        while i + 16 <= count {
            lanes += UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self) * 0
            i += 16
        }
        var tail: Float = 0
        while i < count {
            tail += base[i] * 0
            i += 1
        }
        guard lanes.sum() + tail != 0 else { return nil }
        return firstIndex { !$0.isFinite }
    }
}

extension Array where Element == Float {
    /// The index of the first NaN or infinity, or nil when every value is finite.
    public func firstNonFinite() -> Int? {
        withUnsafeBufferPointer { $0.firstNonFinite() }
    }
}
