import CZlib
import Foundation
import XCTest

@testable import STNImage

final class ImageTests: XCTestCase {
    /// Splits a PNG into chunks, checking each CRC.
    func chunks(_ png: [UInt8]) throws -> [(String, [UInt8])] {
        XCTAssertEqual(Array(png[0 ..< 8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var result: [(String, [UInt8])] = []
        var i = 8
        func u32(_ o: Int) -> Int { Int(png[o]) << 24 | Int(png[o + 1]) << 16 | Int(png[o + 2]) << 8 | Int(png[o + 3]) }
        while i < png.count {
            let length = u32(i)
            let body = Array(png[i + 4 ..< i + 8 + length])
            let crc = body.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, UInt32($0.count))) }
            XCTAssertEqual(crc, u32(i + 8 + length), "bad CRC")
            result.append((String(decoding: body[0 ..< 4], as: UTF8.self), Array(body[4...])))
            i += 12 + length
        }
        return result
    }

    func testPNGChunksAndPixelsRoundTrip() throws {
        var canvas = Canvas(width: 7, height: 3, background: .white)
        canvas[2, 1] = RGB(10, 20, 30)
        let parts = try chunks(canvas.pngData())
        XCTAssertEqual(parts.map(\.0), ["IHDR", "IDAT", "IEND"])
        XCTAssertEqual(parts[0].1, [0, 0, 0, 7, 0, 0, 0, 3, 8, 2, 0, 0, 0])
        var size = UInt(3 * (7 * 3 + 1))
        var raw = [UInt8](repeating: 0, count: Int(size))
        XCTAssertEqual(uncompress(&raw, &size, parts[1].1, UInt(parts[1].1.count)), Z_OK)
        XCTAssertEqual(Int(size), 3 * 22)
        XCTAssertEqual(raw[0], 0, "filter byte")
        XCTAssertEqual(Array(raw[22 + 1 + 6 ..< 22 + 1 + 9]), [10, 20, 30])
        XCTAssertEqual(Array(raw[1 ..< 4]), [255, 255, 255])
    }

    func testGrayscalePNGHeader() throws {
        let parts = try chunks(PNG.encode(width: 2, height: 2, gray: [0, 64, 128, 255]))
        XCTAssertEqual(parts[0].1[9], 0, "colour type gray")
    }

    func testCanvasBoundsLinesAndText() {
        var canvas = Canvas(width: 40, height: 20, background: .white)
        canvas[-1, 5] = .red
        canvas[40, 5] = .red
        XCTAssertFalse(canvas.pixels.contains(.red))
        canvas.line(from: (1, 1), to: (30, 15), color: .blue)
        XCTAssertEqual(canvas[1, 1], .blue)
        XCTAssertEqual(canvas[30, 15], .blue)
        var text = Canvas(width: 40, height: 20, background: .white)
        let w = text.text("7%", x: 2, y: 3)
        XCTAssertEqual(w, 12)
        let inked = (0 ..< 20).flatMap { y in (0 ..< 40).filter { text[$0, y] == .black }.map { ($0, y) } }
        XCTAssertFalse(inked.isEmpty)
        XCTAssertTrue(inked.allSatisfy { $0.0 >= 2 && $0.0 < 14 && $0.1 >= 3 && $0.1 < 10 })
    }

    func testPolygonHitsItsVertices() {
        var canvas = Canvas(width: 30, height: 30)
        canvas.polygon([(3, 3), (25, 5), (20, 26), (4, 20)], color: .green)
        for (x, y) in [(3, 3), (25, 5), (20, 26), (4, 20)] { XCTAssertEqual(canvas[x, y], .green) }
    }

    /// Shapes partly or wholly off the canvas (a transformer that maps far away, NaN theta)
    /// are clipped, never written out of bounds.
    func testShapesOffTheCanvasAreClipped() {
        var canvas = Canvas(width: 30, height: 20, background: .white)
        canvas.fill(x: 35, y: 2, width: 4, height: 4, color: .red)
        canvas.fill(x: -10, y: -10, width: 3, height: 3, color: .red)
        canvas.fill(x: 5, y: 5, width: -3, height: 4, color: .red)
        canvas.line(from: (-1e9, 5), to: (-1e9 + 3, 8), color: .red, thickness: 2)
        canvas.polygon([(.nan, 0), (3, 3)], color: .red)
        XCTAssertFalse(canvas.pixels.contains(.red))
        // A line from far left to far right crosses the whole canvas at its height.
        canvas.line(from: (-1e12, 10), to: (1e12, 10), color: .blue)
        XCTAssertEqual((0 ..< 30).filter { canvas[$0, 10] == .blue }.count, 30)
        // Half on the canvas: the visible half is drawn, up to the edge.
        canvas.fill(x: 26, y: 0, width: 10, height: 2, color: .green)
        XCTAssertEqual(canvas[29, 1], .green)
        XCTAssertEqual(canvas[25, 1], .white)
    }

    func testTicksAreRoundAndCoverTheRange() {
        XCTAssertEqual(LinePlot.ticks(0 ... 1), [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
        let t = LinePlot.ticks(1 ... 50)
        XCTAssertEqual(t.first, 0)
        XCTAssertEqual(t.last, 50)
        XCTAssertTrue(t.allSatisfy { $0.truncatingRemainder(dividingBy: 10) == 0 })
        XCTAssertEqual(LinePlot.ticks(3 ... 3), [3])
    }

    func testPlotRendersEdgeCases() {
        var plot = LinePlot(title: "t", xLabel: "x", yLabel: "y")
        plot.add(series: "one point", points: [(1, 1)], color: .red)
        plot.add(series: "nan dropped", points: [(1, .nan), (2, 2)], color: .blue)
        let canvas = plot.render(width: 200, height: 120)
        XCTAssertTrue(canvas.pixels.contains(.red))
        XCTAssertEqual(plot.series[1].points.count, 1)
    }

    func testWritingToAMissingDirectoryFailsCleanly() {
        XCTAssertThrowsError(try Canvas(width: 2, height: 2).writePNG(to: "/no/such/dir/x.png")) { error in
            XCTAssertTrue("\(error)".hasPrefix("/no/such/dir/x.png: "), "\(error)")
        }
    }
}
