import STNKernelInterface
import XCTest

final class LogSoftmaxTests: XCTestCase {
    /// Huge logits (a class bias of 3e38) keep log-probabilities that sum to one, instead of
    /// every class getting log-probability 0 when max + log(sum) rounds to max.
    func testHugeLogitsStayNormalised() {
        for value: Float in [3e38, -3e38, 1e20, 100] {
            let logits = [Float](repeating: value, count: 10)
            var logProbs = [Float](repeating: 0, count: 10)
            let best = LogSoftmax.forward(logits, count: 10, into: &logProbs)
            XCTAssertEqual(best, 0)
            for p in logProbs { XCTAssertEqual(p, -log(10), accuracy: 1e-5, "logits \(value)") }
        }
        var logProbs = [Float](repeating: 0, count: 3)
        LogSoftmax.forward([3e38, 0, -3e38], count: 3, into: &logProbs)
        XCTAssertEqual(logProbs[0], 0)
        XCTAssertEqual(logProbs[1], -3e38)
        // -3e38 - 3e38 overflows: the class is impossible, not a NaN.
        XCTAssertEqual(logProbs[2], -.infinity)
    }
}
