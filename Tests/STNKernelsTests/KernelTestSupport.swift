import STNKernelInterface
import STNKernelSelection
import XCTest

/// Shared by the kernel families' tests: a seeded generator, buffers padded as the plan's
/// arena pads them, tolerances, and the kernels under test.
struct SeededRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    /// Uniform in [-1, 1).
    mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int(state >> 40) - (1 << 23)) / Float(1 << 23)
    }

    mutating func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * (next() + 1) / 2 }
}

/// n floats rounded up to 16, as the arena's buffers are (kernels may touch whole vectors).
func paddedCount(_ n: Int) -> Int { (n + 15) & ~15 }

func roundUpTo8(_ n: Int) -> Int { (n + 7) & ~7 }

/// |actual - expected| <= relative * |expected| + absolute, NaN matching NaN and infinities equal.
func close(_ actual: Float, _ expected: Double, relative: Double, absolute: Double = 0) -> Bool {
    if expected.isNaN { return actual.isNaN }
    let e = Double(Float(expected))  // beyond Float's range the kernel must give the infinity
    if e.isInfinite { return Double(actual) == e }
    return abs(Double(actual) - expected) <= relative * abs(expected) + absolute
}

/// The kernel table of the selected ISA: the tests run their checks once per ISA this machine
/// has (`ISA.forEachAvailable`), calling the kernels through that ISA's table as a plan does.
var kernels: KernelTable { KernelTable(ISA.active) }
