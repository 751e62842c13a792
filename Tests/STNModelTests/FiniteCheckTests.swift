import STNModel
import XCTest

/// `firstNonFinite` answers as `firstIndex(where: { !$0.isFinite })` does, wherever the bad
/// value sits (SIMD body or tail) and for values at the edges of Float's range.
final class FiniteCheckTests: XCTestCase {
    func testAgreesWithTheScalarSearch() {
        let edges: [Float] = [
            0, -0, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, 1e-40,
        ]
        for count in [0, 1, 15, 16, 17, 33, 100] {
            var values = (0 ..< count).map { edges[$0 % edges.count] }
            XCTAssertNil(values.firstNonFinite(), "count \(count)")
            for bad in [Float.nan, .infinity, -.infinity, .signalingNaN] {
                for position in Set([0, count / 2, count - 1]) where position >= 0 && position < count {
                    values[position] = bad
                    XCTAssertEqual(values.firstNonFinite(), position, "\(bad) at \(position) of \(count)")
                    values[position] = 1
                }
            }
        }
    }
}
