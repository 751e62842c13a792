import Foundation
import STNTestSupport
import XCTest

@testable import STNModel

/// The inputs tools/ci/fuzz found crashing the built-in HDF5 reader (Fuzz/hdf5/regressions/),
/// through the normal path-based API: each must now fail with a one-line error, not trap.
final class HDF5FuzzRegressionTests: XCTestCase {
    static let regressions = FixturePaths.packageRoot.appendingPathComponent("Fuzz/hdf5/regressions")

    func regression(_ name: String) -> String { Self.regressions.appendingPathComponent(name).path }

    /// Reads everything the file offers, as the fuzz target does, then expects the
    /// weight-file checks to refuse it with a one-line error naming the file.
    func assertRefused(
        _ path: String, mentioning text: String? = nil, file: StaticString = #filePath, line: UInt = #line
    ) {
        if let reader = try? HDF5Reader(path: path) {
            for name in reader.datasetPaths() {
                _ = try? reader.readFloats(name)
                _ = try? reader.readDoubles(name)
                _ = try? reader.readInts(name)
            }
        }
        XCTAssertThrowsError(try WeightFile.read(path), path, file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(path + ": "), message, file: file, line: line)
            XCTAssertFalse(message.contains("\n"), message, file: file, line: line)
            if let text { XCTAssertTrue(message.contains(text), message, file: file, line: line) }
        }
    }

    /// Dimensions 2^32 x 2^32 wrapped the checked element count to 0, which passed the
    /// bound; the dataset's size then overflowed (a trap) when it was read.
    func testDataspaceWhoseElementCountOverflows() {
        assertRefused(regression("dataspace-size-overflow"), mentioning: "dataspace dimension")
    }

    /// Every committed regression input, including ones added without a test of their own.
    func testEveryRegressionInputIsRefused() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.regressions.path).sorted()
        XCTAssertFalse(names.isEmpty)
        for name in names where !name.hasPrefix(".") { assertRefused(regression(name)) }
    }
}
