import Foundation
import STNLibHDF5
import STNModel
import XCTest

@testable import STNEngine

/// Engines made from a weight file's bytes in memory rather than from its path.
final class EngineFromBytesTests: XCTestCase {
    /// A weight file of sample st-cnn weights: its path (removed by the caller) and bytes.
    func sampleFile() throws -> (path: String, bytes: [UInt8]) {
        let path = NSTemporaryDirectory() + "stn-bytes-\(UUID().uuidString).h5"
        try WeightFile(weights: try sampleWeights(.stCNN)).write(to: path)
        return (path, Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    func testEngineFromBytesAnswersAsEngineFromFile() throws {
        let (path, bytes) = try sampleFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fromFile = try Engine(weightsAt: path, threads: 1)
        var copy = bytes
        let fromBytes = try Engine(weightFileBytes: copy, name: "embedded", threads: 1)
        // The bytes are read during init only: changing them afterwards changes nothing.
        for i in copy.indices { copy[i] = 0 }
        XCTAssertEqual(fromBytes.architecture, .stCNN)
        let size = fromFile.frameCount
        let frames = (0 ..< 4 * size).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 11) }
        var expected = InferenceResult()
        var actual = InferenceResult()
        for i in 0 ..< 4 {
            frames.withUnsafeBufferPointer {
                fromFile.infer(pixels: $0.baseAddress! + i * size, into: &expected)
                fromBytes.infer(pixels: $0.baseAddress! + i * size, into: &actual)
            }
            XCTAssertEqual(actual, expected)
            XCTAssertEqual(actual.thetaCount, 6)
        }
    }

    /// An engine loaded from the file (parameters read straight into its arena) answers
    /// bit for bit as one built from the same weights in memory, with one or two worker plans;
    /// a non-finite parameter is refused with the file and the dataset named.
    func testEngineFromFileAnswersAsEngineFromWeights() throws {
        let weights = try sampleWeights(.stCNN)
        let path = NSTemporaryDirectory() + "stn-file-\(UUID().uuidString).h5"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try WeightFile(weights: weights).write(to: path)
        let fromWeights = try Engine(weights: weights, threads: 1)
        for threads in [1, 2] {
            let fromFile = try Engine(weightFile: WeightFileContents(path: path), threads: threads)
            let size = fromFile.frameCount
            let frames = (0 ..< 8 * size).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
            var expected = [InferenceResult](repeating: InferenceResult(), count: 8)
            var actual = expected
            frames.withUnsafeBufferPointer {
                fromWeights.inferBatch(pixels: $0.baseAddress!, count: 8, results: &expected, threads: 1)
                fromFile.inferBatch(pixels: $0.baseAddress!, count: 8, results: &actual, threads: threads)
            }
            XCTAssertEqual(actual, expected, "\(threads) threads")
        }
        var bad = weights
        var values = bad["convs.3.weight"]
        values[777] = .nan
        try bad.set("convs.3.weight", values)
        try WeightFile(weights: bad).write(to: path)
        XCTAssertThrowsError(try Engine(weightsAt: path)) { error in
            XCTAssertEqual(
                "\(error)", "\(path): dataset 'convs.3.weight' has a non-finite value (nan) at index 777")
        }
    }

    /// Every cut of the file is refused with an error naming it, never a trap.
    func testTruncatedBytesAreRefusedWithTheirName() throws {
        let (path, bytes) = try sampleFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 200)) {
            XCTAssertThrowsError(try Engine(weightFileBytes: Array(bytes[..<length]), name: "cut", threads: 1)) {
                XCTAssertTrue("\($0)".hasPrefix("cut: "), "\($0)")
            }
        }
    }

    func testBytesThatAreNotHDF5AreRefused() {
        XCTAssertThrowsError(try Engine(weightFileBytes: Array("not a weight file".utf8), name: "text")) {
            XCTAssertEqual("\($0)", "text: not an HDF5 file")
        }
        XCTAssertThrowsError(try Engine(weightFileBytes: [UInt8](), name: "empty")) {
            XCTAssertEqual("\($0)", "empty: not an HDF5 file")
        }
    }
}
