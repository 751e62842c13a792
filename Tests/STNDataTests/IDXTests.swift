import Foundation
import STNTestSupport
import XCTest

@testable import STNData

final class IDXTests: XCTestCase {
    func sampleImages() -> IDXImages {
        IDXImages(count: 3, rows: 4, columns: 5, pixels: (0 ..< 60).map { UInt8($0 * 7 % 256) })
    }

    func testImagesRoundTripRawAndGzip() throws {
        let dir = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        for gzip in [false, true] {
            let path = dir + "/images-\(gzip)"
            try IDX.writeImages(sampleImages(), to: path, gzip: gzip)
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertEqual(Gzip.isGzip(bytes), gzip)
            XCTAssertEqual(try IDX.readImages(at: path), sampleImages())
        }
    }

    func testLabelsRoundTripRawAndGzip() throws {
        let dir = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        let labels: [UInt8] = [3, 1, 4, 1, 5, 9, 2, 6]
        for gzip in [false, true] {
            let path = dir + "/labels-\(gzip).idx"
            try IDX.writeLabels(labels, to: path, gzip: gzip)
            XCTAssertEqual(try IDX.readLabels(at: path), labels)
        }
    }

    func testHeaderLayoutIsBigEndianIDX() throws {
        let dir = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        try IDX.writeImages(sampleImages(), to: dir + "/i")
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/i")))
        XCTAssertEqual(Array(bytes[0 ..< 16]), [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5])
        XCTAssertEqual(bytes.count, 16 + 60)
    }

    /// Writes raw bytes and expects reading them to fail with `kind`, naming the file.
    func assertFails(
        _ bytes: [UInt8], images: Bool = true, _ kind: IDXError.Kind, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let path = try temporaryDirectory(for: self, prefix: "stn-data-tests") + "/bad.idx"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(
            images ? try IDX.readImages(at: path).pixels : try IDX.readLabels(at: path), file: file, line: line
        ) { error in
            guard let error = error as? IDXError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(error.kind, kind, file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix(path + ": "), error.description, file: file, line: line)
            XCTAssertFalse(error.description.contains("\n"), file: file, line: line)
        }
    }

    func header(_ dims: [UInt32], type: UInt8 = 8) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, type, UInt8(dims.count)]
        for d in dims { bytes += [UInt8(d >> 24), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
        return bytes
    }

    func testBadMagic() throws {
        try assertFails([0x50, 0x4B, 3, 4] + header([1, 1, 1]).dropFirst(4) + [0], .badMagic(0x50, 0x4B))
    }

    func testBadTypeByte() throws {
        try assertFails(header([1, 2, 2], type: 0x0D) + [UInt8](repeating: 0, count: 16), .badType(0x0D))
    }

    func testWrongNumberOfDimensions() throws {
        try assertFails(header([4]) + [1, 2, 3, 4], .wrongDimensions(found: 1, expected: 3))
        try assertFails(header([1, 2, 2]) + [1, 2, 3, 4], images: false, .wrongDimensions(found: 3, expected: 1))
    }

    func testTruncatedPayload() throws {
        try assertFails(header([2, 3, 3]) + [UInt8](repeating: 1, count: 10), .truncated(expected: 18, found: 10))
    }

    func testTruncatedHeader() throws {
        try assertFails([0, 0, 8], .tooShort(bytes: 3))
        try assertFails([0, 0, 8, 3, 0, 0, 0, 1, 0, 0], .tooShort(bytes: 10))
    }

    func testTrailingBytes() throws {
        try assertFails(header([3]) + [1, 2, 3, 4, 5], images: false, .trailingBytes(expected: 3, found: 5))
    }

    func testZeroCount() throws {
        try assertFails(header([0, 28, 28]), .zeroCount)
    }

    func testAbsurdHeaderSizeIsRejectedBeforeAllocating() throws {
        // 4 billion x 4 billion x 4 billion would overflow; 60000 x 60000 x 60000 exceeds the cap.
        try assertFails(
            header([0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF]) + [1, 2, 3],
            .tooLarge(dimensions: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF]))
        try assertFails(header([60000, 60000, 60000]) + [1], .tooLarge(dimensions: [60000, 60000, 60000]))
    }

    func testCorruptGzip() throws {
        var bytes = Gzip.compress(header([1, 2, 2]) + [1, 2, 3, 4])
        bytes[bytes.count / 2] ^= 0xFF
        bytes[bytes.count / 2 + 1] ^= 0x55
        let path = try temporaryDirectory(for: self, prefix: "stn-data-tests") + "/corrupt.gz"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try IDX.readImages(at: path)) { error in
            guard case .corruptGzip = (error as? IDXError)?.kind else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".hasPrefix(path))
        }
    }

    func testTruncatedGzip() throws {
        let bytes = Gzip.compress(header([2, 10, 10]) + [UInt8](repeating: 7, count: 200))
        let path = try temporaryDirectory(for: self, prefix: "stn-data-tests") + "/short.gz"
        try Data(bytes.prefix(bytes.count - 12)).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try IDX.readImages(at: path)) { error in
            guard case .corruptGzip = (error as? IDXError)?.kind else { return XCTFail("\(error)") }
        }
    }

    func testGzipBombIsCapped() throws {
        XCTAssertThrowsError(try Gzip.decompress(Gzip.compress([UInt8](repeating: 0, count: 1 << 20)), limit: 1000)) {
            error in
            guard case Gzip.Failure.tooLarge = error else { return XCTFail("\(error)") }
        }
    }

    func testMissingFileAndDirectory() throws {
        let dir = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        XCTAssertThrowsError(try IDX.readImages(at: dir + "/absent")) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .unreadable("no such file"))
        }
        XCTAssertThrowsError(try IDX.readImages(at: dir)) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .unreadable("is a directory"))
        }
    }

    func testFailedWriteLeavesNoFile() throws {
        let dir = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        XCTAssertThrowsError(try IDX.writeLabels([1], to: dir + "/missing/dir/labels")) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    // MARK: Reading as the bytes arrive

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = try temporaryDirectory(for: self, prefix: "stn-data-tests") + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A gzip bomb behind an absurd header was inflated to the cap (2 GB, 7-15 s) before the
    /// header was looked at. The header is checked as soon as its bytes are inflated: the
    /// broken checksum at the end of this file is never reached.
    func testAbsurdHeaderInGzipIsRefusedBeforeInflatingTheRest() throws {
        var bytes = Gzip.compress(header([60000, 60000, 60000]) + [UInt8](repeating: 0, count: 4 << 20))
        bytes[bytes.count - 5] ^= 0xFF  // the CRC
        try assertFailsReading(write(bytes, "bomb.gz"), .tooLarge(dimensions: [60000, 60000, 60000]))
        XCTAssertEqual(
            IDXError("f", .tooLarge(dimensions: [60000, 60000, 60000])).description,
            "f: IDX header declares an absurd size 60000 x 60000 x 60000 (more than 1073741824 bytes)")
    }

    /// Zeros (a gzip bomb of zeros, or /dev/zero) fail on the fourth byte, not after 1 GB.
    func testZerosFailOnTheHeader() throws {
        try assertFailsReading(write(Gzip.compress([UInt8](repeating: 0, count: 8 << 20)), "zeros.gz"), .badType(0))
        try assertFailsReading("/dev/zero", .badType(0))
    }

    /// Decompression stops at the declared size: a small valid file followed by a flood of
    /// data is refused after reading a bounded amount past the payload.
    func testDataBeyondTheDeclaredSizeIsRefused() throws {
        let idx = header([1, 2, 2]) + [1, 2, 3, 4]
        var flood = Gzip.compress(idx + [UInt8](repeating: 0, count: 8 << 20))
        flood[flood.count - 5] ^= 0xFF  // never reached either
        try assertFailsReading(write(flood, "flood.gz"), .excessData(expected: 4))
        try assertFailsReading(write(Gzip.compress(idx + [9, 9]), "two.gz"), .trailingBytes(expected: 4, found: 6))
        try assertFailsReading(
            write(Gzip.compress(header([2, 2, 2]) + [1, 2]), "short.gz"), .truncated(expected: 8, found: 2))
    }

    /// pigz and `cat a.gz b.gz` write several gzip members; gunzip reads them as one stream.
    func testMultiMemberGzipIsOneStream() throws {
        let images = sampleImages()
        let raw = header([UInt32(images.count), UInt32(images.rows), UInt32(images.columns)]) + images.pixels
        for cut in [1, 2, 7, 16, raw.count / 2, raw.count - 1] {
            let members = Gzip.compress(Array(raw[..<cut])) + Gzip.compress([]) + Gzip.compress(Array(raw[cut...]))
            XCTAssertEqual(try IDX.readImages(at: write(members, "members-\(cut).gz")), images, "cut at \(cut)")
            XCTAssertEqual(try Gzip.decompress(members, limit: raw.count), raw)
        }
        // Bytes after the last member that are not another member are refused, naming where.
        let garbage = Gzip.compress(raw) + [0, 0, 0, 0]
        try assertFailsReading(
            write(garbage, "garbage.gz"),
            .corruptGzip("the bytes after the gzip data (from byte \(garbage.count - 4)) are not another gzip member"))
        // A member cut short is still truncated.
        let cutShort = Gzip.compress(raw) + Array(Gzip.compress(raw).dropLast(3))
        XCTAssertThrowsError(try IDX.readImages(at: write(cutShort, "cut.gz"))) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .corruptGzip("unexpected end of data"))
        }
    }

    /// stn-infer counted labels above 9 in its accuracy and ignored labels beyond the images.
    func testLabelsMustBeOnePerImageAndAClassOfTheModel() throws {
        XCTAssertNoThrow(try IDX.checkLabels([0, 9, 3], at: "l", imageCount: 3, classes: 10))
        XCTAssertThrowsError(try IDX.checkLabels([0, 10, 3], at: "l", imageCount: 3, classes: 10)) {
            XCTAssertEqual("\($0)", "l: label 10 at index 1 is not one of the model's 10 classes (0-9)")
        }
        XCTAssertThrowsError(try IDX.checkLabels([0, 2, 255], at: "l", imageCount: 3, classes: 2)) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .labelOutOfRange(index: 1, value: 2, classes: 2))
        }
        XCTAssertThrowsError(try IDX.checkLabels([0, 1, 2, 3], at: "l", imageCount: 3, classes: 10)) {
            XCTAssertEqual("\($0)", "l: 4 labels for 3 images (one label per image)")
        }
        XCTAssertThrowsError(try IDX.checkLabels([0, 1], at: "l", imageCount: 3, classes: 10)) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .countMismatch(images: 3, labels: 2))
        }
    }

    func assertFailsReading(
        _ path: String, _ kind: IDXError.Kind, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        XCTAssertThrowsError(try IDX.readImages(at: path), file: file, line: line) { error in
            guard let error = error as? IDXError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(error.kind, kind, file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix(path + ": "), error.description, file: file, line: line)
            XCTAssertFalse(error.description.contains("\n"), file: file, line: line)
        }
    }
}
