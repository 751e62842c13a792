import Foundation
import ONNXProto
import STNEngine
import STNModel

/// One ONNX backend node-test case (`CASE/model.onnx`, `CASE/test_data_set_N/{input,output}_K.pb`)
/// run the way stn-convert and stn-infer run a model: converted by `ONNXImporter.convert`
/// with the first graph input as the engine's input and every other input bound as a
/// constant from the test data, then run by the `Engine` on its plan.
public enum ConformanceCase {
    /// Relative and absolute tolerance of ONNX's backend tests.
    public static let relativeTolerance: Float = 1e-3
    public static let absoluteTolerance: Float = 1e-5

    public struct Outcome: Sendable {
        /// Data sets run, values compared, and the largest |engine - expected|.
        public var dataSets = 0
        public var values = 0
        public var maximumError: Float = 0
        /// The first value outside tolerance, described in one line; nil when all pass.
        public var failure: String?
        public var passed: Bool { failure == nil }
    }

    /// Runs every data set of the case in `directory`. Throws `ONNXError` (one line) for a
    /// case that cannot be read or converted.
    public static func run(directory: String) throws -> Outcome {
        let base = URL(fileURLWithPath: directory)
        func read(_ url: URL) throws -> [UInt8] {
            guard let data = try? Data(contentsOf: url), data.count <= 1 << 30 else {
                throw ONNXError("\(url.path): cannot read")
            }
            return [UInt8](data)
        }
        let modelBytes = try read(base.appendingPathComponent("model.onnx"))
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: modelBytes)
        } catch {
            throw ONNXError("\(directory)/model.onnx: not a readable ONNX model")
        }
        let initialised = Set(model.graph.initializer.map(\.name))
        let inputs = model.graph.input.map(\.name).filter { !initialised.contains($0) }
        let sets = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("test_data_set_") }.sorted()
        guard !sets.isEmpty else { throw ONNXError("\(directory): no test_data_set_N folders") }
        var outcome = Outcome()
        for set in sets {
            let folder = base.appendingPathComponent(set)
            let values = try inputs.indices.map { try read(folder.appendingPathComponent("input_\($0).pb")) }
            guard let first = values.first else { throw ONNXError("\(directory): the graph has no inputs") }
            var bound: [String: [UInt8]] = [:]
            for (i, name) in inputs.enumerated().dropFirst() { bound[name] = values[i] }
            let converted = try ONNXImporter.convert(
                bytes: modelBytes, name: base.lastPathComponent, boundInputs: bound)
            let engine: Engine
            do {
                engine = try Engine(weights: converted.weights, threads: 1)
            } catch {
                throw ONNXError("\(directory): \(error)")
            }
            let input = try tensor(first, "\(set)/input_0.pb")
            guard input.values.count == engine.frameCount else {
                throw ONNXError(
                    "\(set)/input_0.pb has \(input.values.count) values, the model reads \(engine.frameCount)")
            }
            guard model.graph.output.count == 1 else {
                throw ONNXError("\(directory): \(model.graph.output.count) outputs (one is supported)")
            }
            let expected = try tensor(
                try read(folder.appendingPathComponent("output_0.pb")), "\(set)/output_0.pb")
            let output = input.values.withUnsafeBufferPointer { Array(engine.infer(tensor: $0.baseAddress!)) }
            guard output.count == expected.values.count else {
                outcome.failure = "\(set): the engine gives \(output.count) values, expected \(expected.values.count)"
                return outcome
            }
            for (i, (got, want)) in zip(output, expected.values).enumerated() {
                let error = abs(got - want)
                outcome.maximumError = max(outcome.maximumError, error.isNaN ? .infinity : error)
                if outcome.failure == nil, !(error <= absoluteTolerance + relativeTolerance * abs(want)) {
                    outcome.failure = "\(set): value \(i) is \(got), expected \(want)"
                }
            }
            outcome.values += output.count
            outcome.dataSets += 1
        }
        return outcome
    }

    /// A TensorProto file's values as floats.
    static func tensor(_ bytes: [UInt8], _ what: String) throws -> (dims: [Int], values: [Float]) {
        let proto: Onnx_TensorProto
        do {
            proto = try Onnx_TensorProto(serializedBytes: bytes)
        } catch {
            throw ONNXError("\(what): not a readable TensorProto")
        }
        let value = try FoldedConstant(proto, name: what)
        return (value.dims, value.floats)
    }
}
