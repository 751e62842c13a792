import ArgumentParser
import STNCommandLine
import STNSystem
import XCTest

final class RangeTests: XCTestCase {
    func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as ValidationError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    func testIntegerRanges() {
        XCTAssertNil(message { try require(nil, in: 1 ... 10, for: "--epochs") })
        XCTAssertNil(message { try require(10, in: 1 ... 10, for: "--epochs") })
        XCTAssertEqual(
            message { try require(-1, in: 1 ... 10_000, for: "--epochs") },
            "--epochs must be between 1 and 10000, got -1")
        XCTAssertEqual(
            message { try require(10_000, in: 1 ... maximumThreads, for: "--threads") },
            "--threads must be between 1 and 256, got 10000")
        XCTAssertEqual(
            message { try require(0, in: 1 ... Int.max, for: "--limit") }, "--limit must be at least 1, got 0")
    }

    func testFloatingPointRanges() {
        XCTAssertNil(message { try require(0.1, .above(0), for: "--lr") })
        XCTAssertNil(message { try require(nil, .above(0), for: "--lr") })
        XCTAssertEqual(
            message { try require(.nan, .above(0), for: "--lr") }, "--lr must be a finite number > 0, got nan")
        XCTAssertEqual(
            message { try require(.infinity, .above(0), for: "--lr") }, "--lr must be a finite number > 0, got inf")
        XCTAssertEqual(message { try require(0, .above(0), for: "--lr") }, "--lr must be a finite number > 0, got 0.0")
        XCTAssertEqual(
            message { try require(1, .atLeast(0), .below(1), for: "--momentum") },
            "--momentum must be a finite number >= 0 and < 1, got 1.0")
        XCTAssertEqual(
            message { try require(-0.5, .atLeast(0), .atMost(2.5), for: "--x") },
            "--x must be a finite number >= 0 and <= 2.5, got -0.5")
        XCTAssertEqual(message { try require(.nan, for: "--x") }, "--x must be a finite number, got nan")
    }

    func testSeeds() throws {
        XCTAssertEqual(try parseSeed("18446744073709551615"), UInt64.max)
        XCTAssertEqual(try parseSeed("0"), 0)
        for bad in ["-1", "18446744073709551616", "1.5", ""] {
            XCTAssertEqual(
                message { _ = try parseSeed(bad) }, "a seed is an integer from 0 to 18446744073709551615", bad)
        }
    }
}
