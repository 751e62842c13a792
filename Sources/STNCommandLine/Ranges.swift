import ArgumentParser

// Every numeric option is checked against a range, with one line naming the option, the
// range and the value typed. Declare numeric options with `parsing: .unconditional` so that
// a negative number is read as the option's value (by default ArgumentParser takes "-1" for
// a flag and reports the value as missing) and then refused here. Thread counts are bounded
// by STNSystem's `maximumThreads`.

/// The range of an option's value; `nil` leaves it unchecked (the option was not given).
public func require(_ value: Int?, in range: ClosedRange<Int>, for option: String) throws {
    guard let value, !range.contains(value) else { return }
    throw ValidationError("\(option) must be \(describe(range)), got \(value)")
}

/// "between 1 and 256", or "at least 1" for a range without a useful upper end.
func describe(_ range: ClosedRange<Int>) -> String {
    range.upperBound == Int.max
        ? "at least \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)"
}

/// One end of the range of a floating-point option.
public enum Bound: Sendable {
    case above(Double)
    case atLeast(Double)
    case below(Double)
    case atMost(Double)

    func admits(_ value: Double) -> Bool {
        switch self {
        case .above(let limit): return value > limit
        case .atLeast(let limit): return value >= limit
        case .below(let limit): return value < limit
        case .atMost(let limit): return value <= limit
        }
    }

    var text: String {
        switch self {
        case .above(let limit): return "> \(number(limit))"
        case .atLeast(let limit): return ">= \(number(limit))"
        case .below(let limit): return "< \(number(limit))"
        case .atMost(let limit): return "<= \(number(limit))"
        }
    }

    /// 1 rather than 1.0, 0.5 as 0.5.
    private func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// A floating-point option must be finite and within its bounds: "--lr must be a finite
/// number > 0, got nan".
public func require(_ value: Double?, _ bounds: Bound..., for option: String) throws {
    guard let value, !(value.isFinite && bounds.allSatisfy { $0.admits(value) }) else { return }
    let range = bounds.map(\.text).joined(separator: " and ")
    throw ValidationError("\(option) must be a finite number\(range.isEmpty ? "" : " " + range), got \(value)")
}

/// Reads a `--seed` value (`transform:`), naming the range when it is not one:
/// "The value '-1' is invalid for '--seed <seed>': a seed is an integer from 0 to 18446744073709551615".
public func parseSeed(_ text: String) throws -> UInt64 {
    guard let value = UInt64(text) else {
        throw ValidationError("a seed is an integer from 0 to \(UInt64.max)")
    }
    return value
}
