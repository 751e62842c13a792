// How far two outputs are apart, in the terms the tests state their tolerances in.

/// max |a - b| (0 for empty arrays).
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// max |ours - theirs| / max |theirs|: the error relative to the tensor's scale (the
/// absolute error when `theirs` is all zeros).
public func relativeError(_ ours: [Float], _ theirs: [Float]) -> Double {
    precondition(ours.count == theirs.count, "sizes differ: \(ours.count) vs \(theirs.count)")
    var worst = 0.0
    var scale = 0.0
    for (a, b) in zip(ours, theirs) {
        worst = max(worst, Double(abs(a - b)))
        scale = max(scale, Double(abs(b)))
    }
    return scale == 0 ? worst : worst / scale
}
