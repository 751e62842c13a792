import Foundation
import STNLibHDF5
import XCTest

@testable import STNModel

final class WeightFileTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "stn-model-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Distinct, reproducible values so a swapped or transposed tensor would be noticed.
    func sampleWeights(_ architecture: Architecture) -> ModelWeights {
        var weights = ModelWeights.zeros(architecture)
        for (p, spec) in architecture.parameters.enumerated() {
            let values = (0 ..< spec.count).map { Float(p) + Float($0 % 997) * 0.001 - 0.5 }
            try! weights.set(spec.name, values)
        }
        return weights
    }

    /// Writes a file the way h5py would from a state_dict: datasets only, optional tweaks.
    func writeRaw(
        _ name: String, _ architecture: Architecture, attributes: [String: HDF5Attribute] = [:],
        skip: String? = nil, override: (String, [Float], [Int])? = nil, asDouble: Bool = false
    ) throws -> String {
        let path = directory + "/" + name
        let file = try HDF5File(path: path, mode: .create)
        let weights = sampleWeights(architecture)
        for spec in architecture.parameters where spec.name != skip {
            var values = weights[spec.name]
            var shape = spec.shape
            if let (n, v, s) = override, n == spec.name {
                values = v
                shape = s
            }
            if asDouble {
                try file.write(spec.name, doubles: values.map(Double.init), shape: shape)
            } else {
                try file.write(spec.name, floats: values, shape: shape)
            }
        }
        for (k, v) in attributes { try file.setAttribute(k, v) }
        return path
    }

    func assertError(_ path: String, contains text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try WeightFile.read(path), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(text), "'\(message)' does not mention '\(text)'", file: file, line: line)
            XCTAssertTrue(message.hasPrefix(path), "'\(message)' does not name the file", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "error is not one line", file: file, line: line)
        }
    }

    func testWriteThenReadRoundTripsValuesAndAttributes() throws {
        for architecture in [Architecture.cnn, .stCNN] {
            let path = directory + "/\(architecture.name).h5"
            let weights = sampleWeights(architecture)
            let attributes: [String: HDF5Attribute] = [
                "recipe": .string("default"), "epochs": .int(3), "test_accuracy": .double(0.9931),
            ]
            try WeightFile(weights: weights, attributes: attributes).write(to: path)
            let read = try WeightFile.read(path)
            XCTAssertEqual(read.weights, weights)
            XCTAssertEqual(read.architecture, architecture)
            XCTAssertEqual(read.attributes["recipe"], .string("default"))
            XCTAssertEqual(read.attributes["epochs"], .int(3))
            XCTAssertEqual(read.attributes["test_accuracy"], .double(0.9931))
            XCTAssertEqual(read.attributes["format"], .string("stn-weights"))
            XCTAssertEqual(read.attributes["format_version"], .int(2))
            XCTAssertEqual(read.attributes["model"], .string(architecture.name))
            XCTAssertEqual(read.attributes["model_description"], .string(architecture.modelDescription.text))
            XCTAssertEqual(read.attributes["transform"], architecture.hasTransformer ? .string("affine") : nil)
            XCTAssertEqual(read.extraDatasets, [])
            // No temporary file is left beside the output.
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
                $0.hasSuffix(".tmp")
            }
            XCTAssertEqual(leftovers, [])
        }
    }

    func testBareStateDictDumpIsIdentifiedByDatasetNames() throws {
        let st = try WeightFile.read(try writeRaw("st.h5", .stCNN))
        XCTAssertEqual(st.architecture, .stCNN)
        XCTAssertEqual(st.weights, sampleWeights(.stCNN))
        let cnn = try WeightFile.read(try writeRaw("cnn.h5", .cnn))
        XCTAssertEqual(cnn.architecture, .cnn)
    }

    func testFloat64DatasetsAreConverted() throws {
        let read = try WeightFile.read(try writeRaw("f64.h5", .cnn, asDouble: true))
        XCTAssertEqual(read.weights, sampleWeights(.cnn))
    }

    func testExtraDatasetsAreReported() throws {
        let path = try writeRaw("extra.h5", .cnn)
        try HDF5File(path: path, mode: .read).flush()
        let file = try HDF5File(path: directory + "/extra2.h5", mode: .create)
        let weights = sampleWeights(.cnn)
        for spec in Architecture.cnn.parameters {
            try file.write(spec.name, floats: weights[spec.name], shape: spec.shape)
        }
        try file.write("optimizer/momentum", floats: [1, 2], shape: [2])
        try file.flush()
        XCTAssertEqual(try WeightFile.read(directory + "/extra2.h5").extraDatasets, ["optimizer/momentum"])
    }

    func testNotHDF5() throws {
        let path = directory + "/text.h5"
        try "hello".write(toFile: path, atomically: true, encoding: .utf8)
        assertError(path, contains: "not an HDF5 file")
        assertError(directory + "/absent.h5", contains: "no such file")
    }

    func testMissingDataset() throws {
        assertError(
            try writeRaw("missing.h5", .stCNN, skip: "convs.3.bias"), contains: "missing dataset 'convs.3.bias'")
    }

    func testWrongShape() throws {
        let values = [Float](repeating: 0, count: 36 * 81)
        let path = try writeRaw("shape.h5", .cnn, override: ("convs.0.weight", values, [36, 81]))
        assertError(path, contains: "dataset 'convs.0.weight' has shape [36, 81], expected [36, 1, 9, 9]")
    }

    func testNaNValue() throws {
        var values = [Float](repeating: 0.1, count: 10)
        values[7] = .nan
        let path = try writeRaw("nan.h5", .cnn, override: ("classification.2.bias", values, [10]))
        assertError(path, contains: "dataset 'classification.2.bias' has a non-finite value")
    }

    func testUnknownModel() throws {
        assertError(
            try writeRaw("unknown.h5", .cnn, attributes: ["model": .string("resnet")]),
            contains: "attribute 'model' is 'resnet'")
    }

    func testWrongInputSize() throws {
        assertError(
            try writeRaw("size.h5", .cnn, attributes: ["model": .string("cnn"), "input_size": .int(28)]),
            contains: "input_size")
    }

    func testModelAttributeDisagreeingWithDatasetsIsMissingDataset() throws {
        // Claims st-cnn but holds only the CNN's (32-channel shapes differ too).
        assertError(
            try writeRaw("claims.h5", .cnn, attributes: ["model": .string("st-cnn")]),
            contains: "missing dataset 'localisation_net.0.weight'")
    }

    func testIntegerDatasetIsRejected() throws {
        let path = directory + "/int.h5"
        let file = try HDF5File(path: path, mode: .create)
        let weights = sampleWeights(.cnn)
        for spec in Architecture.cnn.parameters {
            if spec.name == "convs.0.bias" {
                try file.write(spec.name, ints: [Int64](repeating: 1, count: 36), shape: [36])
            } else {
                try file.write(spec.name, floats: weights[spec.name], shape: spec.shape)
            }
        }
        try file.flush()
        assertError(path, contains: "dataset 'convs.0.bias' is int64, expected float32 or float64")
    }

    func testFailedWriteLeavesNoFile() throws {
        let weights = sampleWeights(.cnn)
        // The body fails midway: neither the destination nor a temporary file may remain.
        let path = directory + "/partial.h5"
        struct Boom: Error {}
        XCTAssertThrowsError(try WeightFile(weights: weights).write(to: path) { _ in throw Boom() })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
        // An existing file survives a failed overwrite unchanged.
        try WeightFile(weights: weights).write(to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try WeightFile(weights: sampleWeights(.cnn)).write(to: path) { _ in throw Boom() })
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        // A missing directory is a clear error naming the path.
        XCTAssertThrowsError(try WeightFile(weights: weights).write(to: directory + "/no/such/dir/w.h5")) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
    }

    /// A full disk while writing a checkpoint: libhdf5 failed to flush on close, kept the file
    /// open, and crashed in its exit handler (SIGSEGV after the error line). The write now
    /// fails with one line, the old file is intact, nothing is left behind, and libhdf5
    /// holds no handle. The disk fills at 100 KB here: RLIMIT_FSIZE with SIGXFSZ ignored
    /// makes write(2) fail with EFBIG as a full disk fails with ENOSPC.
    func testWriteOnAFullDiskKeepsTheOldFileAndClosesEverything() throws {
        let path = directory + "/st-cnn.checkpoint.h5"
        try WeightFile(weights: sampleWeights(.stCNN)).write(to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let velocity = [Float](repeating: 0.25, count: 110_478)

        var result: Result<Void, Error> = .success(())
        withFileSizeLimit(100_000) {
            result = Result {
                try WeightFile(weights: sampleWeights(.stCNN)).write(to: path) { file in
                    try file.write("optimizer/velocity", floats: velocity, shape: [velocity.count])
                }
            }
        }

        XCTAssertThrowsError(try result.get()) { error in
            XCTAssertEqual("\(error)", "\(path): cannot write file: File too large")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["st-cnn.checkpoint.h5"])
        XCTAssertEqual(HDF5File.openObjectCount, 0)
        // And the same write succeeds once there is room.
        try WeightFile(weights: sampleWeights(.stCNN)).write(to: path) { file in
            try file.write("optimizer/velocity", floats: velocity, shape: [velocity.count])
        }
        XCTAssertEqual(try HDF5File(path: path, mode: .read).readFloats("optimizer/velocity").values, velocity)
        XCTAssertEqual(HDF5File.openObjectCount, 0)
    }

    /// Runs `body` with files limited to `bytes` (writes past it fail with EFBIG instead of
    /// raising SIGXFSZ). Nothing may be printed meanwhile: the limit applies to the whole
    /// process, standard output included.
    func withFileSizeLimit(_ bytes: Int, _ body: () -> Void) {
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        let handler = signal(SIGXFSZ, SIG_IGN)
        var limited = saved
        limited.rlim_cur = rlim_t(bytes)
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limited)
        body()
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, handler)
    }

    func testModelWeightsRejectsBadTensors() {
        var tensors = ModelWeights.zeros(.cnn).tensors
        tensors["convs.0.bias"] = [1, 2]
        XCTAssertThrowsError(try ModelWeights(architecture: .cnn, tensors: tensors)) {
            XCTAssertEqual($0 as? ModelError, .wrongCount("convs.0.bias", expected: 36, found: 2))
        }
        tensors = ModelWeights.zeros(.cnn).tensors
        tensors["bogus"] = [1]
        XCTAssertThrowsError(try ModelWeights(architecture: .cnn, tensors: tensors)) {
            XCTAssertEqual($0 as? ModelError, .unknownParameter("bogus"))
        }
    }
}
