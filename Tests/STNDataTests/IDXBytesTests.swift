import Foundation
import STNTestSupport
import XCTest

@testable import STNData

/// IDX.readImages(bytes:) and readLabels(bytes:) (the fuzz target's entry points) agree
/// with reading the same bytes from a file.
final class IDXBytesTests: XCTestCase {
    func testBytesAgreeWithFilesRawAndGzip() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        let images = IDXImages(count: 2, rows: 3, columns: 4, pixels: (0 ..< 24).map { UInt8($0 * 11 % 256) })
        let labels: [UInt8] = [7, 0, 9]
        for gzip in [false, true] {
            try IDX.writeImages(images, to: directory + "/images", gzip: gzip)
            try IDX.writeLabels(labels, to: directory + "/labels", gzip: gzip)
            let imageBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/images")))
            let labelBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/labels")))
            XCTAssertEqual(try IDX.readImages(bytes: imageBytes), try IDX.readImages(at: directory + "/images"))
            XCTAssertEqual(try IDX.readLabels(bytes: labelBytes), labels)
        }
    }

    func testErrorsNameTheGivenName() {
        XCTAssertThrowsError(try IDX.readLabels(bytes: [0, 0, 8, 3], name: "upload")) { error in
            XCTAssertEqual(error as? IDXError, IDXError("upload", .wrongDimensions(found: 3, expected: 1)))
        }
        XCTAssertThrowsError(try IDX.readImages(bytes: [0x1F, 0x8B, 8, 0])) { error in
            guard let error = error as? IDXError, case .corruptGzip = error.kind else { return XCTFail("\(error)") }
            XCTAssertEqual(error.path, "<bytes>")
        }
    }
}
