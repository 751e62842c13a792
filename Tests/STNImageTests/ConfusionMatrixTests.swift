import XCTest

@testable import STNImage

/// Per-class accuracy and the confusion-matrix chart.
final class ConfusionMatrixTests: XCTestCase {
    let names = ["cat", "dog", "bird"]

    func testCountsAccuraciesAndTable() throws {
        // True: cat x3, dog x2, bird x1; two mistakes (cat taken for dog, dog for cat).
        let m = try ConfusionMatrix(predicted: [0, 0, 1, 1, 0, 2], actual: [0, 0, 0, 1, 1, 2], classNames: names)
        XCTAssertEqual(m[actual: 0, predicted: 1], 1)
        XCTAssertEqual(m[actual: 1, predicted: 0], 1)
        XCTAssertEqual(m.total, 6)
        XCTAssertEqual(m.correct, 4)
        XCTAssertEqual(m.accuracy(of: 0)!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m.precision(of: 0)!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m.accuracy(of: 2), 1)
        XCTAssertEqual(m.mostConfused(0)?.predicted, 1)
        XCTAssertNil(m.mostConfused(2))
        XCTAssertEqual(
            m.table,
            """
            class   images    right  accuracy  precision  most often taken for
            cat          3        2    66.67%     66.67%  dog (1)
            dog          2        1    50.00%     50.00%  cat (1)
            bird         1        1   100.00%    100.00%  -
            all          6        4    66.67%
            """)
        // A class with no images, one never predicted: '-' rather than a division by zero.
        let empty = try ConfusionMatrix(predicted: [0], actual: [0], classNames: ["a", "b"])
        XCTAssertNil(empty.accuracy(of: 1))
        XCTAssertTrue(empty.table.contains("b            0        0         -          -  -"), empty.table)
    }

    func testBadInputIsOneLine() {
        XCTAssertThrowsError(try ConfusionMatrix(predicted: [0, 3], actual: [0, 1], classNames: names)) {
            XCTAssertEqual("\($0)", "label 3 is outside the 3 classes")
        }
        XCTAssertThrowsError(try ConfusionMatrix(predicted: [0], actual: [0, 1], classNames: names)) {
            XCTAssertEqual("\($0)", "1 predictions for 2 labels: the counts must be the same")
        }
    }

    /// The chart: a diagonal cell is blue, a mistake red, an empty cell white; every class
    /// gets a row; long names fall back to numbered columns.
    func testChartColoursCells() throws {
        let m = try ConfusionMatrix(predicted: [0, 0, 1, 1, 0, 2], actual: [0, 0, 0, 1, 1, 2], classNames: names)
        let canvas = ConfusionMatrixChart.render(m)
        XCTAssertGreaterThanOrEqual(canvas.width, 360)
        // Find the grid: the first blue-dominant pixel is the top-left diagonal cell.
        let blue = canvas.pixels.firstIndex { $0.b > 150 && $0.r < 120 }
        XCTAssertNotNil(blue)
        let red = canvas.pixels.contains { $0.r > 150 && $0.g < 130 && $0.b < 130 }
        XCTAssertTrue(red)
        let digits = try ConfusionMatrix(
            predicted: Array(0 ..< 10), actual: Array(0 ..< 10), classNames: ConfusionMatrix.numberedClasses(10))
        XCTAssertEqual(ConfusionMatrixChart.render(digits).pngData().prefix(4), [0x89, 0x50, 0x4E, 0x47])
        XCTAssertEqual(ConfusionMatrix.percentText(0.99494), "99.49%")
        XCTAssertEqual(ConfusionMatrix.percentText(0.0005), "0.05%")
    }
}
