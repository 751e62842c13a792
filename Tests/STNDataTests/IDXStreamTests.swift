import Foundation
import STNTestSupport
import XCTest

@testable import STNData

/// Images of four dimensions (N x H x W x C), and the stream `stn-infer -` reads.
final class IDXStreamTests: XCTestCase {
    func header(_ dims: [Int]) -> [UInt8] {
        [0, 0, 8, UInt8(dims.count)] + dims.flatMap { d in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: d >> $0) } }
    }

    func testFourDimensionsAreImagesWithChannels() throws {
        let path = try temporaryDirectory(for: self, prefix: "stn-data-tests") + "/rgb"
        let pixels = (0 ..< 2 * 3 * 4 * 3).map { UInt8($0) }
        try Data(header([2, 3, 4, 3]) + pixels).write(to: URL(fileURLWithPath: path))
        let images = try IDX.readFrames(at: path)
        XCTAssertEqual([images.count, images.rows, images.columns, images.channels], [2, 3, 4, 3])
        XCTAssertEqual(Array(images.image(1)), Array(pixels[36...]))
        // Only images with channels read four dimensions; three still read as before.
        XCTAssertThrowsError(try IDX.readImages(at: path)) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .wrongDimensions(found: 4, expected: 3))
        }
        try Data(header([1, 2, 2]) + [1, 2, 3, 4]).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try IDX.readFrames(at: path), IDXImages(count: 1, rows: 2, columns: 2, pixels: [1, 2, 3, 4]))
    }

    /// A stream through a pipe, the writer still holding it open: each image is delivered
    /// once its bytes are in, without waiting for more.
    func testStreamDeliversEachImageWithoutReadingAhead() throws {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        defer { close(ends[1]) }
        func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) } }
        send(header([0, 2, 2]))
        let stream = try IDXStream(descriptor: ends[0], name: "pipe")
        defer { close(ends[0]) }
        XCTAssertEqual([stream.rows, stream.columns, stream.channels], [2, 2, 1])
        XCTAssertNil(stream.declaredCount)
        for k in 0 ..< 3 {
            // The next image is written only now: reading more than it would block the test.
            send((0 ..< 4).map { UInt8(k * 10 + $0) })
            XCTAssertEqual(try stream.next(), (0 ..< 4).map { UInt8(k * 10 + $0) })
        }
        send([7, 7])
        close(ends[1])
        ends[1] = -1
        XCTAssertThrowsError(try stream.next()) {
            // The header's count is 0: no total was declared, so none is reported.
            XCTAssertEqual(($0 as? IDXError)?.kind, .cutInsideImage(index: 3, found: 2, imageBytes: 4))
            XCTAssertEqual(
                "\($0)",
                "pipe: truncated inside image 3: 2 of its 4 bytes arrived, 14 data bytes in all (the header's count of 0 reads whole images to the end)"
            )
        }
    }

    func testStreamEndsAfterTheDeclaredCountOrAtTheEndForZero() throws {
        func stream(_ bytes: [UInt8]) throws -> IDXStream {
            var ends: [Int32] = [0, 0]
            XCTAssertEqual(pipe(&ends), 0)
            _ = bytes.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) }
            close(ends[1])
            addTeardownBlock { close(ends[0]) }
            return try IDXStream(descriptor: ends[0], name: "pipe")
        }
        let two = try stream(header([2, 1, 1, 3]) + [1, 2, 3, 4, 5, 6])
        XCTAssertEqual([two.declaredCount, two.channels], [2, 3])
        XCTAssertEqual(try two.next(), [1, 2, 3])
        XCTAssertEqual(try two.next(), [4, 5, 6])
        XCTAssertNil(try two.next())

        let more = try stream(header([1, 1, 1]) + [1, 2])
        XCTAssertEqual(try more.next(), [1])
        XCTAssertThrowsError(try more.next()) { XCTAssertEqual(($0 as? IDXError)?.kind, .moreThanDeclared(images: 1)) }

        let open = try stream(Gzip.compress(header([0, 1, 2]) + [1, 2, 3, 4]))
        XCTAssertEqual(try open.next(), [1, 2])
        XCTAssertEqual(try open.next(), [3, 4])
        XCTAssertNil(try open.next())
        XCTAssertEqual(open.delivered, 2)

        XCTAssertThrowsError(try stream(header([0, 0, 5]))) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .tooLarge(dimensions: [0, 0, 5]))
        }
        XCTAssertThrowsError(try stream(Array("P5\n2 2\n255\n".utf8))) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .badMagic(0x50, 0x35))
        }
    }
}

/// IDX files read as streams (`IDXStream(path:)`, what stn-infer reads files with): one image
/// at a time, nothing read past what was asked, with the checks of a whole-file read.
final class IDXFileStreamTests: XCTestCase {
    func header(_ dims: [Int]) -> [UInt8] {
        [0, 0, 8, UInt8(dims.count)] + dims.flatMap { d in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: d >> $0) } }
    }

    func file(_ bytes: [UInt8]) throws -> String {
        let path = try temporaryDirectory(for: self, prefix: "stn-data-tests") + "/images"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A gzip file declaring 600,000 images that holds 2: the two are delivered, the third
    /// is refused as truncated; a whole-file read refuses the file before any image.
    func testGzipFileDeliversImagesBeforeTheRestIsInflated() throws {
        let pixels = (0 ..< 2 * 9).map { UInt8($0 * 7) }
        let path = try file(Gzip.compress(header([600_000, 3, 3]) + pixels))
        XCTAssertThrowsError(try IDX.readFrames(at: path)) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .truncated(expected: 600_000 * 9, found: 18))
        }
        let stream = try IDXStream(path: path)
        XCTAssertEqual(stream.declaredCount, 600_000)
        XCTAssertEqual(try stream.next(), Array(pixels[..<9]))
        XCTAssertEqual(try stream.next(), Array(pixels[9...]))
        XCTAssertThrowsError(try stream.next()) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .truncated(expected: 600_000 * 9, found: 18))
        }
    }

    /// The checks of IDX.readFrames, each where the stream can make it: a raw file's length
    /// and a zero count before the first image, what follows the last image after it.
    func testFileChecksMatchAWholeFileRead() throws {
        let pixels = (0 ..< 2 * 4).map { UInt8($0) }
        for (bytes, kind) in [
            (header([2, 2, 2]) + pixels.prefix(7), IDXError.Kind.truncated(expected: 8, found: 7)),
            (header([2, 2, 2]) + pixels + [1], .trailingBytes(expected: 8, found: 9)),
            (header([0, 2, 2]), .zeroCount),
            (header([2, 1 << 20, 1 << 10]), .tooLarge(dimensions: [2, 1 << 20, 1 << 10])),
        ] {
            let path = try file(bytes)
            XCTAssertThrowsError(try IDX.readFrames(at: path)) { XCTAssertEqual(($0 as? IDXError)?.kind, kind) }
            XCTAssertThrowsError(try IDXStream(path: path)) { XCTAssertEqual(($0 as? IDXError)?.kind, kind) }
        }
        // Gzip: what follows the declared images is counted after the last one.
        let path = try file(Gzip.compress(header([2, 2, 2]) + pixels + [5, 6]))
        let stream = try IDXStream(path: path)
        XCTAssertEqual(try stream.next(), Array(pixels[..<4]))
        XCTAssertEqual(try stream.next(), Array(pixels[4...]))
        XCTAssertThrowsError(try stream.next()) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .trailingBytes(expected: 8, found: 10))
        }
        // A good file, raw and gzip: every image, then the end.
        for bytes in [header([2, 2, 2]) + pixels, Gzip.compress(header([2, 2, 2]) + pixels)] {
            let stream = try IDXStream(path: try file(bytes))
            XCTAssertEqual(try stream.next(), Array(pixels[..<4]))
            XCTAssertEqual(try stream.next(), Array(pixels[4...]))
            XCTAssertNil(try stream.next())
        }
        XCTAssertThrowsError(try IDXStream(path: "/nonexistent/images")) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .unreadable("no such file"))
        }
    }
}
