import XCTest

@testable import STNImage

/// The work of decoding is bounded by what the header declares (issue 26): a caller refuses a
/// size from the header before any pixel is decoded, and compressed data far beyond what
/// the image's pixels need is refused instead of being inflated to its end.
final class ImageBoundsTests: XCTestCase {
    struct Refused: Error, Equatable {
        let width: Int
        let height: Int
    }

    /// Refuses every size, recording it.
    static func refuse(_ width: Int, _ height: Int) throws { throw Refused(width: width, height: height) }

    /// An 8192 x 8192 16-bit RGBA header whose pixels are not there: the caller sees the
    /// declared size first and refuses it, so nothing is decoded or allocated (without the
    /// header check, libpng would report the missing pixels instead).
    func testPNGSizeIsRefusedFromTheHeaderBeforeDecoding() {
        let header = PNG.bigEndian(8192) + PNG.bigEndian(8192) + [16, 6, 0, 0, 0]
        let png = PNG.signature + PNG.chunk("IHDR", header) + PNG.chunk("IDAT", [1, 2, 3]) + PNG.chunk("IEND", [])
        XCTAssertThrowsError(try ImageFile.decode(png, name: "big.png", accept: Self.refuse)) {
            XCTAssertEqual($0 as? Refused, Refused(width: 8192, height: 8192))
        }
        XCTAssertEqual(PNG.declaredSize(png)?.width, 8192)
        // A size the caller accepts goes on to libpng, which finds the pixels missing.
        XCTAssertThrowsError(try ImageFile.decode(png, name: "big.png")) {
            XCTAssertTrue("\($0)".contains("corrupt or unsupported PNG"), "\($0)")
        }
    }

    func testPGMSizeIsRefusedFromTheHeaderBeforeReadingSamples() {
        let pgm = Array("P5\n4000 3000\n255\n".utf8) + [1, 2, 3]
        XCTAssertThrowsError(try ImageFile.decode(pgm, name: "big.pgm", accept: Self.refuse)) {
            XCTAssertEqual($0 as? Refused, Refused(width: 4000, height: 3000))
        }
    }

    /// The accepted size reaches the decoder, whose image has it.
    func testAcceptedSizesDecode() throws {
        let gray = (0 ..< 28 * 28).map { UInt8($0 % 251) }
        var seen: [Int] = []
        let image = try ImageFile.decode(PNG.encode(width: 28, height: 28, gray: gray), name: "d.png") {
            seen = [$0, $1]
        }
        XCTAssertEqual(seen, [28, 28])
        XCTAssertEqual(image.samples, gray.map(UInt16.init))
    }

    /// A 28 x 28 image whose zlib stream goes on with 28 MB of zeros (rows a taller image
    /// would have): the IDAT chunk is 28 KB, far more than 28 x 28 pixels can need, and is
    /// refused from the chunk lengths instead of inflated to its end (seconds for a
    /// gigabyte of zeros).
    func testCompressedDataFarBeyondThePixelsIsRefused() throws {
        let tall = PNG.encode(width: 28, height: 1_000_000, gray: [UInt8](repeating: 0, count: 28 * 1_000_000))
        // The same chunks with the IHDR's height set to 28.
        var png = PNG.signature + PNG.chunk("IHDR", PNG.bigEndian(28) + PNG.bigEndian(28) + [8, 0, 0, 0, 0])
        png += tall[(8 + 25)...]
        XCTAssertGreaterThan(png.count, 20_000)
        XCTAssertThrowsError(try ImageFile.decode(png, name: "bomb.png")) {
            XCTAssertTrue(
                "\($0)".contains("bomb.png: corrupt or unsupported PNG: IDAT holds"), "\($0)")
            XCTAssertTrue("\($0)".contains("more than a 28x28 image's 840 bytes of pixels can need"), "\($0)")
        }
        // The real image's own stream, with no excess, decodes.
        let plain = PNG.encode(width: 28, height: 28, gray: [UInt8](repeating: 7, count: 28 * 28))
        XCTAssertEqual(try ImageFile.decode(plain, name: "d.png").samples.first, 7)
    }

    /// Incompressible pixels (stored deflate blocks, a little larger than the pixels) are
    /// within the bound, at every size from tiny to large.
    func testIncompressiblePixelsAreWithinTheBound() throws {
        var generator = SystemRandomNumberGenerator()
        for side in [1, 3, 28, 300] {
            let rgb = (0 ..< side * side * 3).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
            let image = try ImageFile.decode(PNG.encode(width: side, height: side, rgb: rgb), name: "noise.png")
            XCTAssertEqual(image.samples, rgb.map(UInt16.init))
        }
    }
}
