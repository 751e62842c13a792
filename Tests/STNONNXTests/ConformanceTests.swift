import Foundation
import ONNXProto
import STNONNX
import XCTest

/// ONNX's backend node-test cases (Tests/Fixtures/onnx-conformance, written by
/// tools/fixtures/make_onnx_conformance.py), run as `stn-convert --run-test` runs them.
final class ConformanceTests: XCTestCase {
    static let cases = ONNXImporterTests.fixtures.appendingPathComponent("onnx-conformance")

    func caseNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: Self.cases.path).filter { $0.hasPrefix("test_") }.sorted()
    }

    func testEveryCommittedCasePasses() throws {
        let names = try caseNames()
        XCTAssertEqual(names.count, 77)
        var passed = 0
        var worst: Float = 0
        for name in names {
            do {
                let outcome = try ConformanceCase.run(directory: Self.cases.appendingPathComponent(name).path)
                XCTAssertGreaterThan(outcome.values, 0, name)
                if outcome.passed { passed += 1 } else { XCTFail("\(name): \(outcome.failure!)") }
                worst = max(worst, outcome.maximumError)
            } catch {
                XCTFail("\(name): \(error)")
            }
        }
        print("ONNX conformance: \(passed) of \(names.count) cases pass, max |engine - expected| \(worst)")
        XCTAssertEqual(passed, names.count)
    }

    /// The runner must notice a wrong answer: the same case with one expected value changed fails.
    func testAWrongExpectedValueFails() throws {
        let source = Self.cases.appendingPathComponent("test_gemm_all_attributes")
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("stn-conformance-\(getpid())")
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(at: source, to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        let outputURL = copy.appendingPathComponent("test_data_set_0/output_0.pb")
        var tensor = try Onnx_TensorProto(serializedBytes: [UInt8](try Data(contentsOf: outputURL)))
        if tensor.hasRawData {
            var raw = [UInt8](tensor.rawData)
            let value = Float(
                bitPattern: UInt32(raw[0]) | UInt32(raw[1]) << 8 | UInt32(raw[2]) << 16 | UInt32(raw[3]) << 24)
            let changed = (value + 0.01).bitPattern
            for k in 0 ..< 4 { raw[k] = UInt8(truncatingIfNeeded: changed >> (8 * k)) }
            tensor.rawData = Data(raw)
        } else {
            tensor.floatData[0] += 0.01
        }
        try Data(try tensor.serializedBytes() as [UInt8]).write(to: outputURL)
        let outcome = try ConformanceCase.run(directory: copy.path)
        XCTAssertFalse(outcome.passed)
        XCTAssertTrue(outcome.failure?.contains("value 0") ?? false, outcome.failure ?? "")
    }

    /// Conformance models cut short or with random bytes changed are refused in one line.
    func testMutatedCaseModelsNeverTrap() throws {
        var refused = 0
        // A fixed xorshift sequence, so a failing variant is the same on every run.
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(truncatingIfNeeded: state >> 1)
        }
        for name in try caseNames() {
            let whole = [UInt8](try Data(contentsOf: Self.cases.appendingPathComponent("\(name)/model.onnx")))
            var variants = (0 ..< whole.count).map { Array(whole[..<$0]) }
            for _ in 0 ..< 8 {
                var bytes = whole
                bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next())
                variants.append(bytes)
            }
            for bytes in variants {
                do {
                    _ = try ONNXImporter.convert(bytes: bytes, name: name)
                } catch {
                    refused += 1
                    XCTAssertFalse("\(error)".contains("\n"), "\(error)")
                }
            }
        }
        print("mutated conformance models refused in one line: \(refused)")
        XCTAssertGreaterThan(refused, 0)
    }
}
