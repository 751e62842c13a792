import CSTN
import Foundation
import STNLibHDF5
import STNModel
import XCTest

@testable import STNEngine
@testable import STNEngineC

/// stn.h's functions, called as a C program calls them.
final class EngineCTests: XCTestCase {
    var message = [CChar](repeating: 0, count: 256)
    var text: String { message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } }

    func testClassifiesAFrameAsTheSwiftEngine() throws {
        let path = NSTemporaryDirectory() + "stn-c-\(UUID().uuidString).h5"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try WeightFile(weights: try sampleWeights(.stCNN)).write(to: path)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))

        var fromFile: OpaquePointer?
        var fromBytes: OpaquePointer?
        XCTAssertEqual(stnEngineCreateFromFile(path, &fromFile, &message, UInt(message.count)), stn_status(STN_OK))
        XCTAssertEqual(text, "")
        XCTAssertEqual(
            bytes.withUnsafeBytes {
                stnEngineCreateFromBytes($0.baseAddress, UInt($0.count), &fromBytes, &message, 256)
            },
            stn_status(STN_OK))
        defer {
            stnEngineDestroy(fromFile)
            stnEngineDestroy(fromBytes)
        }
        var channels: Int32 = 0
        var height: Int32 = 0
        var width: Int32 = 0
        stnEngineInputShape(fromBytes, &channels, &height, &width)
        XCTAssertEqual([channels, height, width], [1, 42, 42])
        XCTAssertEqual(stnEngineFrameSize(fromBytes), 1764)

        let swiftEngine = try Engine(weightsAt: path, threads: 1)
        let frame = (0 ..< 1764).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 9) }
        var expected = InferenceResult()
        frame.withUnsafeBufferPointer { swiftEngine.infer(pixels: $0.baseAddress!, into: &expected) }
        for engine in [fromFile, fromBytes] {
            var result = stn_result()
            XCTAssertEqual(stnEngineInfer(engine, frame, 1764, &result, &message, 256), stn_status(STN_OK))
            XCTAssertEqual(Int(result.label), expected.digit)
            XCTAssertEqual(result.probability, expected.probability)
            XCTAssertEqual(result.class_count, 10)
            XCTAssertEqual(
                withUnsafeBytes(of: result.log_probs) { Array($0.bindMemory(to: Float.self).prefix(10)) },
                expected.logProbabilities)
            XCTAssertEqual(result.theta_count, 6)
            XCTAssertEqual(
                withUnsafeBytes(of: result.theta) { Array($0.bindMemory(to: Float.self).prefix(6)) },
                expected.thetaValues)
        }
    }

    func testBadInputGivesCodesAndMessages() throws {
        var engine: OpaquePointer?
        XCTAssertEqual(
            stnEngineCreateFromFile("/no/such/weights.h5", &engine, &message, 256), stn_status(STN_ERROR_WEIGHTS))
        XCTAssertNil(engine)
        XCTAssertEqual(text, "/no/such/weights.h5: no such file")
        XCTAssertEqual(stnEngineCreateFromFile(nil, &engine, &message, 256), stn_status(STN_ERROR_ARGUMENT))
        XCTAssertEqual(text, "the path is NULL")
        XCTAssertEqual(stnEngineCreateFromFile("/tmp", nil, &message, 256), stn_status(STN_ERROR_ARGUMENT))
        let garbage: [UInt8] = Array(repeating: 7, count: 4096)
        XCTAssertEqual(
            stnEngineCreateFromBytes(garbage, UInt(garbage.count), &engine, &message, 256),
            stn_status(STN_ERROR_WEIGHTS))
        XCTAssertEqual(text, "weights: not an HDF5 file")
        XCTAssertEqual(stnEngineCreateFromBytes(nil, 10, &engine, &message, 256), stn_status(STN_ERROR_ARGUMENT))
        // Errors without a message buffer, and a message cut to a small one.
        XCTAssertEqual(stnEngineCreateFromFile("/no/such", &engine, nil, 0), stn_status(STN_ERROR_WEIGHTS))
        XCTAssertEqual(stnEngineCreateFromFile("/no/such", &engine, &message, 4), stn_status(STN_ERROR_WEIGHTS))
        XCTAssertEqual(text, "/no")

        let path = NSTemporaryDirectory() + "stn-c-\(UUID().uuidString).h5"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try WeightFile(weights: try sampleWeights(.cnn)).write(to: path)
        XCTAssertEqual(stnEngineCreateFromFile(path, &engine, &message, 256), stn_status(STN_OK))
        defer { stnEngineDestroy(engine) }
        var result = stn_result()
        let frame = [UInt8](repeating: 128, count: 1764)
        XCTAssertEqual(stnEngineInfer(engine, frame, 1763, &result, &message, 256), stn_status(STN_ERROR_ARGUMENT))
        XCTAssertEqual(text, "the frame has 1763 pixels; the model takes 1764 (42 x 42 x 1)")
        XCTAssertEqual(stnEngineInfer(nil, frame, 1764, &result, &message, 256), stn_status(STN_ERROR_ARGUMENT))
        XCTAssertEqual(stnEngineInfer(engine, nil, 1764, &result, &message, 256), stn_status(STN_ERROR_ARGUMENT))
        XCTAssertEqual(stnEngineInfer(engine, frame, 1764, nil, &message, 256), stn_status(STN_ERROR_ARGUMENT))
        XCTAssertEqual(stnEngineInfer(engine, frame, 1764, &result, &message, 256), stn_status(STN_OK))
        XCTAssertEqual(result.theta_count, 0)
        XCTAssertEqual(stnEngineFrameSize(nil), 0)
        XCTAssertEqual(String(cString: stn_status_name(stn_status(STN_ERROR_NON_FINITE))), "STN_ERROR_NON_FINITE")
    }

    /// size_t counts past Int.max, through stn.h's own declarations (Swift imports size_t as
    /// Int, so these pass the bit patterns a C caller passes): SIZE_MAX pixels were "the frame
    /// has -1 pixels", 2^63 bytes "the byte count is negative".
    func testHugeSizeCountsAreReportedAsTheCallerGaveThem() throws {
        let path = NSTemporaryDirectory() + "stn-c-\(UUID().uuidString).h5"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try WeightFile(weights: try sampleWeights(.cnn)).write(to: path)
        var engine: OpaquePointer?
        XCTAssertEqual(stn_engine_create_from_file(path, &engine, &message, 256), stn_status(STN_OK))
        defer { stn_engine_destroy(engine) }
        var result = stn_result()
        let frame = [UInt8](repeating: 128, count: 1764)
        let sizeMax = Int(bitPattern: UInt.max)
        XCTAssertEqual(stn_engine_infer(engine, frame, sizeMax, &result, &message, 256), stn_status(STN_ERROR_ARGUMENT))
        XCTAssertEqual(text, "the frame has 18446744073709551615 pixels; the model takes 1764 (42 x 42 x 1)")
        XCTAssertEqual(stn_engine_frame_size(engine), 1764)

        var other: OpaquePointer?
        let garbage: [UInt8] = Array(repeating: 7, count: 16)
        for (count, shown) in [(Int(bitPattern: 1 << 63), "9223372036854775808"), (sizeMax, "18446744073709551615")] {
            XCTAssertEqual(
                stn_engine_create_from_bytes(garbage, count, &other, &message, 256), stn_status(STN_ERROR_ARGUMENT))
            XCTAssertNil(other)
            XCTAssertEqual(
                text, "the byte count \(shown) is larger than any buffer (at most 9223372036854775807)")
        }
        // A message buffer of SIZE_MAX bytes is just a large one.
        XCTAssertEqual(
            stn_engine_infer(engine, frame, 1763, &result, &message, sizeMax), stn_status(STN_ERROR_ARGUMENT))
        XCTAssertEqual(text, "the frame has 1763 pixels; the model takes 1764 (42 x 42 x 1)")
    }
}
