import STNCommandLine
import XCTest

/// `formatted` follows printf, one conversion at a time.
final class FormattedTests: XCTestCase {
    func testNumbersAsPrintfWritesThem() {
        XCTAssertEqual(formatted("%5d  digit %d  p %.4f", 3, 7, Float(0.99996)), "    3  digit 7  p 1.0000")
        XCTAssertEqual(formatted("%.3f %.3f", Float(-0.0625), 2.0005), "-0.062 2.001")
        XCTAssertEqual(formatted("%.4g|%.6g", Float(1e30), 0.000123456789), "1e+30|0.000123457")
        XCTAssertEqual(formatted("-%04d.png", 12), "-0012.png")
        XCTAssertEqual(formatted("%x %u %d", 255, UInt8(200), Int32(-5)), "ff 200 -5")
        XCTAssertEqual(formatted("%ld and %lld", 1, Int64.max), "1 and 9223372036854775807")
        XCTAssertEqual(formatted("[%c]", Int32(65)), "[A]")
    }

    func testLiteralsAndPercentSigns() {
        XCTAssertEqual(formatted("accuracy: %.2f%% (%d/%d)", 99.125, 3, 4), "accuracy: 99.12% (3/4)")
        XCTAssertEqual(formatted("θ → %d%%", 5), "θ → 5%")
        XCTAssertEqual(formatted("no conversions"), "no conversions")
        XCTAssertEqual(formatted("ends with %"), "ends with %")
    }

    func testLongOutputAndNonFiniteValues() {
        XCTAssertEqual(formatted("%300d", 1).count, 300)
        XCTAssertEqual(formatted("%.3f %.3f %g", Float.nan, -Double.infinity, Float.infinity), "nan -inf inf")
    }
}
