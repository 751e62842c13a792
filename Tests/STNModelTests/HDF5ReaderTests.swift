import Foundation
import STNLibHDF5
import STNTestSupport
import XCTest

@testable import STNModel

/// The built-in reader against libhdf5 on the same files: every dataset and attribute
/// libhdf5 sees, the reader sees with the same values, or refuses with a one-line error.
final class HDF5ReaderTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "stn-reader-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Compares everything the two readers report about `path`.
    func assertAgree(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let reference = try HDF5File(path: path, mode: .read)
        let reader = try HDF5Reader(path: path)
        XCTAssertEqual(reader.datasetPaths(), reference.datasetPaths(), file: file, line: line)
        XCTAssertEqual(reader.attributes(), reference.attributes(), "\(path)", file: file, line: line)
        for name in reference.datasetPaths() {
            XCTAssertEqual(try reader.shape(of: name), try reference.shape(of: name), name, file: file, line: line)
            let type = try reference.storedType(of: name)
            XCTAssertTrue(try reader.storedType(of: name) == type, name, file: file, line: line)
            guard type.kind == "float" || type.kind == "int" else { continue }
            do {
                let doubles = try reader.readDoubles(name)
                XCTAssertEqual(doubles.values, try reference.readDoubles(name).values, name, file: file, line: line)
                XCTAssertEqual(
                    try reader.readFloats(name).values, try reference.readFloats(name).values, name, file: file,
                    line: line)
                if type.kind == "int" {
                    XCTAssertEqual(
                        try reader.readInts(name).values, try reference.readInts(name).values, name, file: file,
                        line: line)
                }
            } catch let error as HDF5Error {
                // The only refusal allowed: storage the reader deliberately leaves to libhdf5.
                XCTAssertTrue(
                    error.message.contains("chunked") || error.message.contains("compressed"), "\(error)", file: file,
                    line: line)
                XCTAssertFalse("\(error)".contains("\n"), file: file, line: line)
            }
        }
    }

    func testAgreesWithLibHDF5OnEveryKindOfValueWeWrite() throws {
        let path = directory + "/mixed.h5"
        let file = try HDF5File(path: path, mode: .create)
        try file.write("floats", floats: (0 ..< 1000).map { Float($0) * 0.37 - 100 }, shape: [10, 100])
        try file.write("group/doubles", doubles: [1e-300, -2.5, .pi, 1e300], shape: [2, 2])
        try file.write("group/deeper/ints", ints: [Int64.min, -1, 0, 1, Int64.max], shape: [5])
        try file.write("scalar", floats: [42.5], shape: [])
        try file.write("empty", floats: [], shape: [0, 3])
        try file.setAttribute("text", .string("héllo, wörld"))
        try file.setAttribute("empty_text", .string(""))
        try file.setAttribute("count", .int(-7))
        try file.setAttribute("rate", .double(0.0005))
        try file.flush()
        try assertAgree(path)
        let reader = try HDF5Reader(path: path)
        XCTAssertEqual(reader.attribute("text"), .string("héllo, wörld"))
        XCTAssertEqual(try reader.readInts("group/deeper/ints").values, [Int64.min, -1, 0, 1, Int64.max])
        XCTAssertEqual(try reader.readFloats("scalar").values, [42.5])
        XCTAssertEqual(try reader.readFloats("empty").shape, [0, 3])
        XCTAssertThrowsError(try reader.readInts("floats")) {
            XCTAssertTrue("\($0)".contains("not an integer dataset"), "\($0)")
        }
        XCTAssertThrowsError(try reader.readFloats("nothing")) {
            XCTAssertTrue("\($0)".contains("missing dataset 'nothing'"), "\($0)")
        }
    }

    /// Large groups spread over several symbol-table nodes and B-tree levels.
    func testLargeGroupsSpanSeveralTreeNodes() throws {
        let path = directory + "/many.h5"
        let file = try HDF5File(path: path, mode: .create)
        for i in 0 ..< 700 { try file.write("g/d\(i)", floats: [Float(i)], shape: [1]) }
        for i in 0 ..< 20 { try file.write("top\(i)", ints: [Int64(i)], shape: [1]) }
        try file.flush()
        try assertAgree(path)
        let reader = try HDF5Reader(path: path)
        XCTAssertEqual(reader.datasetPaths().count, 720)
        XCTAssertEqual(try reader.readFloats("g/d613").values, [613])
    }

    /// The shipped models and the h5py-written PyTorch fixtures (chunked and gzip-compressed).
    func testAgreesOnShippedWeightsAndH5pyFixtures() throws {
        let root = FixturePaths.packageRoot
        var paths: [String] = []
        for folder in ["Weights", "Tests/Fixtures"] {
            let url = root.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: url.path) where name.hasSuffix(".h5") {
                paths.append(url.appendingPathComponent(name).path)
            }
        }
        XCTAssertGreaterThanOrEqual(paths.count, 4)
        for path in paths { try assertAgree(path) }
    }

    func testCheckpointLikeFileRoundTrips() throws {
        let path = directory + "/checkpoint.h5"
        var weights = ModelWeights.zeros(.stCNN)
        for spec in Architecture.stCNN.parameters {
            try weights.set(spec.name, (0 ..< spec.count).map { Float($0 % 13) - 6 })
        }
        try WeightFile(weights: weights, attributes: ["checkpoint": .int(1)]).write(to: path) { file in
            try file.write("optimizer/velocity", floats: [Float](repeating: 0.25, count: 110_478), shape: [110_478])
            try file.write("training/history", doubles: (0 ..< 14).map(Double.init), shape: [2, 7])
        }
        try assertAgree(path)
        XCTAssertEqual(try WeightFile.read(path).weights, weights)
    }

    func assertOneLineError(_ error: Error, _ path: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let error = error as? HDF5Error else {
            return XCTFail("not an HDF5Error: \(error)", file: file, line: line)
        }
        XCTAssertEqual(error.path, path, file: file, line: line)
        XCTAssertFalse(error.description.contains("\n"), file: file, line: line)
    }

    /// Every prefix of a weight file either fails with a one-line error or, when the cut
    /// only removed bytes the reader never needs, reads the same weights.
    func testTruncatedFilesFailCleanly() throws {
        let original = FixturePaths.packageRoot.appendingPathComponent("Weights/st-cnn.h5").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: original))
        let expected = try WeightFile.read(original).weights
        let path = directory + "/cut.h5"
        var failures = 0
        var cuts = Array(stride(from: 0, to: bytes.count, by: 1499)) + Array(0 ..< 1200)
        cuts.append(bytes.count - 1)
        for cut in cuts {
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: path))
            do {
                let weights = try WeightFile.read(path).weights
                XCTAssertEqual(weights, expected, "cut at \(cut)")
            } catch {
                failures += 1
                assertOneLineError(error, path)
            }
        }
        XCTAssertGreaterThan(failures, cuts.count / 2)
    }

    /// Random damage to the metadata (the first 2 KiB) never traps: it reads, or it fails
    /// with a one-line error.
    func testCorruptedMetadataNeverCrashes() throws {
        let original = FixturePaths.packageRoot.appendingPathComponent("Weights/st-cnn.h5").path
        let clean = [UInt8](try Data(contentsOf: URL(fileURLWithPath: original)))
        let path = directory + "/damaged.h5"
        var state: UInt64 = 12345
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for _ in 0 ..< 300 {
            var bytes = clean
            for _ in 0 ..< 1 + next() % 4 { bytes[next() % 2048] = UInt8(truncatingIfNeeded: next()) }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let reader = try HDF5Reader(path: path)
                for name in reader.datasetPaths() { _ = try? reader.readFloats(name) }
            } catch {
                assertOneLineError(error, path)
            }
        }
    }
}
