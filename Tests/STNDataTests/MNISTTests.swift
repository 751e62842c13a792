import Foundation
import STNTestSupport
import XCTest

@testable import STNData

final class MNISTTests: XCTestCase {
    func testLoadsBothSplitsWithTheKnownLabelCounts() throws {
        let directory = try FixturePaths.mnistDirectory()
        let train = try MNIST.load(split: .train, directory: directory)
        let test = try MNIST.load(split: .test, directory: directory)
        XCTAssertEqual(train.images.count, 60_000)
        XCTAssertEqual(test.images.count, 10_000)
        XCTAssertEqual(train.images.rows, 28)
        XCTAssertEqual(train.images.columns, 28)
        func histogram(_ labels: [UInt8]) -> [Int] {
            var counts = [Int](repeating: 0, count: 10)
            for l in labels { counts[Int(l)] += 1 }
            return counts
        }
        XCTAssertEqual(histogram(train.labels), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
        XCTAssertEqual(histogram(test.labels), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        // The first test digit of MNIST is a 7.
        XCTAssertEqual(test.labels[0], 7)
    }

    func testMissingDirectorySaysHowToProvideIt() {
        XCTAssertThrowsError(try MNIST.resolveDirectory("/no/such/mnist")) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("/no/such/mnist"), message)
            XCTAssertTrue(message.contains("--data") && message.contains("STN_DATA"), message)
        }
    }

    func testMissingFileIsNamed() throws {
        let dir = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        XCTAssertThrowsError(try MNIST.load(split: .test, directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("t10k-images-idx3-ubyte"), "\(error)")
        }
    }

    func testLabelOutOfRangeIsRejected() throws {
        let dir = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        try IDX.writeImages(
            IDXImages(count: 2, rows: 28, columns: 28, pixels: [UInt8](repeating: 0, count: 2 * 784)),
            to: dir + "/t10k-images-idx3-ubyte")
        try IDX.writeLabels([3, 12], to: dir + "/t10k-labels-idx1-ubyte.gz", gzip: true)
        XCTAssertThrowsError(try MNIST.load(split: .test, directory: dir)) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .badLabel(index: 1, value: 12))
        }
        try IDX.writeLabels([3], to: dir + "/t10k-labels-idx1-ubyte.gz", gzip: true)
        XCTAssertThrowsError(try MNIST.load(split: .test, directory: dir)) {
            XCTAssertEqual(($0 as? IDXError)?.kind, .countMismatch(images: 2, labels: 1))
        }
    }
}
