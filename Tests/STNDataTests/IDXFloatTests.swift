import Foundation
import STNTestSupport
import XCTest

@testable import STNData

/// Float32 IDX images (type 0x0D, big-endian): read mapped, inflated and streamed, fitted to
/// the frames of the 8-bit file they stand for, and a NaN, an infinity, a short file or an
/// unknown type refused in one line naming the file (and the image).
final class IDXFloatTests: XCTestCase {
    /// What the engine and the trainer make of byte k: k x (1/255) in float32.
    static func value(_ k: UInt8) -> Float { Float(k) * (1 / 255) }

    /// Five 3 x 2 x 3 images of bytes, and the float32 values they stand for.
    let bytes = (0 ..< 90).map { (i: Int) -> UInt8 in UInt8(i * 37 % 256) }
    var values: [Float] { bytes.map(Self.value) }

    func writeBytes(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    func testFloatImagesAreReadMappedInflatedAndStreamed() throws {
        let root = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        try IDX.writeFloatImages(values, count: 5, rows: 3, columns: 2, channels: 3, to: root + "/raw")
        try IDX.writeFloatImages(values, count: 5, rows: 3, columns: 2, channels: 3, to: root + "/gz", gzip: true)
        try IDX.writeLabels([0, 1, 2, 1, 0], to: root + "/labels")
        let header = try [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/raw")).prefix(8))
        XCTAssertEqual(header, [0, 0, 0x0D, 4, 0, 0, 0, 5])
        let mapped = try IDXImageSet(images: root + "/raw", labels: root + "/labels")
        let inflated = try IDXImageSet(images: root + "/gz", labels: root + "/labels")
        XCTAssertTrue(mapped.isMapped)
        XCTAssertFalse(inflated.isMapped)
        let layout = ImageLayout(rows: 3, columns: 2, channels: 3, isFloat: true)
        XCTAssertEqual(mapped.layout, layout)
        XCTAssertEqual(layout.description, "3x2 RGB float32")
        let stream = try IDXStream(path: root + "/gz")
        XCTAssertEqual(stream.element, .float32)
        let scratch = ImageScratch()
        for i in 0 ..< 5 {
            let image = Array(values[i * 18 ..< (i + 1) * 18])
            for set in [mapped, inflated] {
                XCTAssertEqual(try set.read(i, epoch: 0, into: scratch), layout)
                XCTAssertEqual(Array(scratch.floats.prefix(18)), image)
            }
            XCTAssertEqual(try stream.next(into: scratch), layout)
            XCTAssertEqual(Array(scratch.floats.prefix(18)), image)
        }
        XCTAssertNil(try stream.next(into: scratch))
        var checked: [ImageLayout] = []
        try mapped.checkImages(threads: 2) { layout, _ in checked.append(layout) }
        XCTAssertEqual(checked, [layout])
    }

    /// Float samples holding k x (1/255) give the frames of the bytes k, bit for bit, as they
    /// are, padded, resized and with grey repeated; luminance within rounding.
    func testFloatFramesAreTheBytesFrames() {
        func frames(_ fitting: FrameFitting, _ layout: ImageLayout, _ samples: [UInt8]) -> ([Float], [Float]) {
            var fromBytes = [Float](repeating: -1, count: fitting.frameCount)
            var fromFloats = [Float](repeating: -2, count: fitting.frameCount)
            let floats = samples.map(Self.value)
            var floatLayout = layout
            floatLayout.isFloat = true
            samples.withUnsafeBufferPointer { s in
                fromBytes.withUnsafeMutableBufferPointer {
                    fitting.frame(s.baseAddress!, layout: layout, into: $0.baseAddress!, scratch: ImageScratch())
                }
            }
            floats.withUnsafeBufferPointer { s in
                fromFloats.withUnsafeMutableBufferPointer {
                    fitting.frame(
                        floats: s.baseAddress!, layout: floatLayout, into: $0.baseAddress!, scratch: ImageScratch())
                }
            }
            return (fromBytes, fromFloats)
        }
        let image = (0 ..< 72).map { (i: Int) -> UInt8 in UInt8(i * 53 % 256) }
        let rgb = ImageLayout(rows: 4, columns: 6, channels: 3)
        let grey = ImageLayout(rows: 4, columns: 6, channels: 1)
        let cases: [(FrameFitting, ImageLayout, [UInt8])] = [
            (FrameFitting(rows: 4, columns: 6, channels: 3), rgb, image),
            (FrameFitting(rows: 7, columns: 9, channels: 3, fit: .pad), rgb, image),
            (FrameFitting(rows: 5, columns: 3, channels: 3, fit: .resize), rgb, image),
            (FrameFitting(rows: 8, columns: 8, channels: 3, fit: .resize, color: .rgb), grey, Array(image.prefix(24))),
        ]
        for (fitting, layout, samples) in cases {
            let (a, b) = frames(fitting, layout, samples)
            XCTAssertEqual(a, b, "\(fitting.fit) \(layout)")
            XCTAssertFalse(a.contains(-1))
        }
        let (a, b) = frames(FrameFitting(rows: 4, columns: 6, channels: 1, color: .grey), rgb, image)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 0.5 / 255 + 1e-6) }
    }

    /// A NaN or infinity is refused before training (the first in file order, on any thread
    /// count), when the image is read, and by the stream, naming the image and its place.
    func testNonFiniteValuesAreRefusedNamingTheImage() throws {
        let root = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        try IDX.writeLabels([0, 1, 2, 1, 0], to: root + "/labels")
        for (bad, text) in [(Float.nan, "NaN"), (-Float.infinity, "-inf")] {
            var values = self.values
            // Image 2, row 1, column 0, channel 1; and a later one in image 4.
            values[2 * 18 + 1 * 6 + 0 * 3 + 1] = bad
            values[4 * 18] = .infinity
            let path = root + "/images-\(text)"
            try IDX.writeFloatImages(values, count: 5, rows: 3, columns: 2, channels: 3, to: path)
            let message = "\(path): image 2 holds \(text) at row 1, column 0, channel 1 (float32 images must be finite)"
            let set = try IDXImageSet(images: path, labels: root + "/labels")
            for threads in [1, 2, 5] {
                XCTAssertThrowsError(try set.checkImages(threads: threads) { _, _ in }) {
                    XCTAssertEqual("\($0)", message)
                }
            }
            XCTAssertNoThrow(try set.read(1, epoch: 0, into: ImageScratch()))
            XCTAssertThrowsError(try set.read(2, epoch: 0, into: ImageScratch())) { XCTAssertEqual("\($0)", message) }
            let stream = try IDXStream(path: path)
            let scratch = ImageScratch()
            XCTAssertNotNil(try stream.next(into: scratch))
            XCTAssertNotNil(try stream.next(into: scratch))
            XCTAssertThrowsError(try stream.next(into: scratch)) { XCTAssertEqual("\($0)", message) }
        }
    }

    func testBadFloatFilesAreOneLineNamingTheFile() throws {
        let root = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        try IDX.writeLabels([0, 1], to: root + "/labels")
        let header: [UInt8] = [0, 0, 0x0D, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3]
        let payload = IDXElement.encode((0 ..< 12).map { Float($0) / 12 })
        func refused(_ bytes: [UInt8], _ problem: String, line: UInt = #line) throws {
            let path = root + "/images"
            try writeBytes(bytes, to: path)
            XCTAssertThrowsError(try IDXImageSet(images: path, labels: root + "/labels"), line: line) {
                XCTAssertEqual("\($0)", "\(path): \(problem)", line: line)
            }
            XCTAssertThrowsError(try IDXStream(path: path), line: line) {
                XCTAssertEqual("\($0)", "\(path): \(problem)", line: line)
            }
        }
        try refused(
            header + payload.dropLast(), "truncated: header declares 48 data bytes but only 47 follow")
        try refused(header + payload + [0], "1 unexpected trailing bytes after the 48 data bytes the header declares")
        var typed = header
        typed[2] = 0x0B
        try refused(typed + payload, "unsupported IDX element type 0b, expected 08 (unsigned byte) or 0d (float32)")
        // A streamed gzip file is cut inside an image.
        let path = root + "/cut.gz"
        try writeBytes(Gzip.compress(header + payload.dropLast(10)), to: path)
        let stream = try IDXStream(path: path)
        XCTAssertNotNil(try stream.next(into: ImageScratch()))
        XCTAssertThrowsError(try stream.next(into: ImageScratch())) {
            XCTAssertEqual("\($0)", "\(path): truncated: header declares 48 data bytes but only 38 follow")
        }
        // Labels, and the MNIST reader, stay 8-bit.
        try writeBytes([0, 0, 0x0D, 1, 0, 0, 0, 1] + IDXElement.encode([1]), to: root + "/float-labels")
        XCTAssertThrowsError(try IDX.readLabels(at: root + "/float-labels")) {
            XCTAssertEqual(
                "\($0)", "\(root)/float-labels: unsupported IDX element type 0d, expected 08 (unsigned byte)")
        }
        try writeBytes(header + payload, to: root + "/float-images")
        XCTAssertThrowsError(try IDX.readImages(at: root + "/float-images")) {
            XCTAssertEqual(
                "\($0)", "\(root)/float-images: unsupported IDX element type 0d, expected 08 (unsigned byte)")
        }
    }
}
