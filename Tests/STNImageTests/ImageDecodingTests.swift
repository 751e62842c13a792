import Foundation
import STNTestSupport
import XCTest

@testable import STNImage

/// PNG (libpng) and PGM inputs, against images Pillow wrote (tools/fixtures/make_image_fixtures.py)
/// from formulas recomputed here: the decoded samples are the source's.
final class ImageDecodingTests: XCTestCase {
    static let fixtures = FixturePaths.fixture("images")

    func fixture(_ name: String) throws -> DecodedImage { try ImageFile.read(Self.fixtures + "/" + name) }

    func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/" + name)))
    }

    /// Pixel (x, y) of a width-5, height-3 fixture, row after row.
    func formula(_ f: (Int, Int) -> [Int]) -> [UInt16] {
        (0 ..< 3).flatMap { y in (0 ..< 5).flatMap { x in f(x, y).map { UInt16($0) } } }
    }

    func rgb(_ x: Int, _ y: Int) -> [Int] {
        [(50 * x + 3 * y) % 256, (20 * y + 7 * x + 100) % 256, (255 - 40 * x) % 256]
    }

    func testEightBitGreyPNGHasItsSourcePixels() throws {
        let image = try fixture("grey8.png")
        XCTAssertEqual([image.width, image.height, image.channels, image.maximum], [5, 3, 1, 255])
        XCTAssertEqual(image.samples, formula { x, y in [(37 * x + 71 * y + 5) % 256] })
    }

    func testSixteenBitGreyPNGKeepsAllSixteenBitsAndScalesToEightWithRounding() throws {
        let image = try fixture("grey16.png")
        XCTAssertEqual([image.width, image.height, image.channels, image.maximum], [5, 3, 1, 65535])
        let source = formula { x, y in [(9001 * x + 20011 * y + 7) % 65536] }
        XCTAssertEqual(image.samples, source)
        XCTAssertEqual(image.eightBitSamples, source.map { UInt8((Double($0) * 255 / 65535).rounded()) })
    }

    func testRGBAndRGBAPNGHaveTheirSourcePixels() throws {
        let rgbImage = try fixture("rgb.png")
        XCTAssertEqual([rgbImage.width, rgbImage.height, rgbImage.channels], [5, 3, 3])
        XCTAssertEqual(rgbImage.samples, formula(rgb))
        let rgba = try fixture("rgba.png")
        XCTAssertEqual([rgba.width, rgba.height, rgba.channels], [5, 3, 4])
        XCTAssertTrue(rgba.hasAlpha)
        XCTAssertEqual(rgba.samples, formula { x, y in rgb(x, y) + [(60 * x + 90 * y) % 256] })
    }

    /// Colour becomes grey exactly as Pillow's convert("L") makes it.
    func testRGBToGreyMatchesPillow() throws {
        let pillow = try fixture("rgb-grey.pgm")
        XCTAssertEqual([pillow.width, pillow.height, pillow.channels, pillow.maximum], [5, 3, 1, 255])
        XCTAssertEqual(try fixture("rgb.png").pixels(channels: 1), pillow.eightBitSamples)
    }

    /// Alpha is composited over the background, then the colour made grey.
    func testRGBAIsCompositedOverTheBackground() throws {
        let rgba = try fixture("rgba.png")
        for background in [0, 255] {
            let expected = formula { x, y in
                let a = Double((60 * x + 90 * y) % 256) / 255
                let c = rgb(x, y).map { UInt8((Double($0) * a + Double(background) * (1 - a)).rounded()) }
                return [Int(PixelConversion.luma(c[0], c[1], c[2]))]
            }
            XCTAssertEqual(
                rgba.pixels(channels: 1, background: UInt8(background)), expected.map { UInt8($0) },
                "background \(background)")
        }
        // Grey to colour: R = G = B.
        let grey = try fixture("grey8.png")
        XCTAssertEqual(grey.pixels(channels: 3), grey.eightBitSamples.flatMap { [$0, $0, $0] })
        XCTAssertNil(grey.pixels(channels: 2))
    }

    func testPGMOfSixteenBitsWithItsOwnMaxvalScalesToEightBits() throws {
        let image = try fixture("grey16-4095.pgm")
        XCTAssertEqual([image.width, image.height, image.channels, image.maximum], [5, 3, 1, 4095])
        let source = formula { x, y in [(300 * x + 1000 * y) % 4096] }
        XCTAssertEqual(image.samples, source)
        XCTAssertEqual(image.eightBitSamples, source.map { UInt8((Double($0) * 255 / 4095).rounded()) })
        // The same digit through Pillow's PNG and PGM.
        XCTAssertEqual(try fixture("digit.pgm"), try fixture("digit.png"))
    }

    func testEncodedPNGDecodesToTheSamePixels() throws {
        let gray = (0 ..< 7 * 4).map { UInt8($0 * 9 % 256) }
        let image = try PNG.decode(PNG.encode(width: 7, height: 4, gray: gray), name: "gray")
        XCTAssertEqual(image.samples, gray.map(UInt16.init))
        let rgb = (0 ..< 2 * 3 * 3).map { UInt8($0 * 13 % 256) }
        XCTAssertEqual(
            try PNG.decode(PNG.encode(width: 2, height: 3, rgb: rgb), name: "rgb").samples, rgb.map(UInt16.init))
    }

    // MARK: Bad input: one message naming the file, never a trap

    func assertRefused(
        _ bytes: [UInt8], _ problem: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try ImageFile.decode(bytes, name: "x.img"), file: file, line: line) { error in
            guard let error = error as? ImageReadError else {
                return XCTFail("not an ImageReadError: \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.path, "x.img", file: file, line: line)
            XCTAssertTrue(
                error.problem.contains(problem), "'\(error.problem)' does not say '\(problem)'", file: file, line: line)
            XCTAssertFalse(error.description.contains("\n"), file: file, line: line)
        }
    }

    func testTruncatedPNGIsRefusedAtEveryLength() throws {
        let png = try bytes("digit.png")
        for length in 1 ..< png.count {
            XCTAssertThrowsError(try ImageFile.decode(Array(png[..<length]), name: "cut.png"), "\(length) bytes") {
                XCTAssertEqual(($0 as? ImageReadError)?.path, "cut.png")
            }
        }
        assertRefused(Array(png[..<60]), "truncated")
    }

    func testCorruptPNGsAreRefused() throws {
        let png = try bytes("grey8.png")
        assertRefused([], "empty file")
        assertRefused(Array("hello".utf8), "not a PNG or PGM")
        // A flipped bit in the compressed pixels fails the chunk's CRC.
        var flipped = png
        flipped[png.count - 20] ^= 0x40
        assertRefused(flipped, "corrupt or unsupported PNG")
        // Zero width, and a width and height whose pixels would take 40 GB.
        assertRefused(PNG.encode(width: 0, height: 0, gray: []), "corrupt or unsupported PNG")
        let absurd =
            PNG.signature + PNG.chunk("IHDR", PNG.bigEndian(200_000) + PNG.bigEndian(200_000) + [8, 0, 0, 0, 0])
            + PNG.chunk("IDAT", []) + PNG.chunk("IEND", [])
        assertRefused(absurd, "absurd size 200000x200000")
    }

    func testBadPGMsAreRefused() {
        let header = Array("P5\n2 2\n".utf8)
        assertRefused(header + Array("255\n".utf8) + [1, 2, 3], "truncated: 2x2 pixels need 4 bytes, 3 follow")
        assertRefused(header + Array("255\n".utf8) + [1, 2, 3, 4, 5], "1 unexpected bytes after the 2x2 image")
        assertRefused(header + Array("0\n".utf8) + [1, 2, 3, 4], "maxval 0 is not between 1 and 65535")
        assertRefused(header + Array("70000\n".utf8) + [UInt8](repeating: 0, count: 8), "maxval 70000")
        // 16-bit samples above the maxval the header declares.
        assertRefused(
            header + Array("1000\n".utf8) + [0, 1, 0x0F, 0xA0, 0, 2, 0, 3], "is 4000, above the header's maxval 1000")
        assertRefused(Array("P5\n0 2\n255\n".utf8), "zero size")
        assertRefused(Array("P5\n100000 100000\n255\n".utf8), "absurd size 100000x100000")
        assertRefused(Array("P5\n2".utf8), "truncated PGM header")
        assertRefused(Array("P5\nxx".utf8), "width is not a number")
        assertRefused(Array("P2\n2 2\n255\n1 2 3 4\n".utf8), "only binary greyscale PGM (P5)")
        assertRefused(Array("P6\n2 2\n255\n".utf8), "a Netpbm P6 file")
    }
}
