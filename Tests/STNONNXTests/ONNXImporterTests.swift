import Foundation
import ONNXProto
import STNEngine
import STNLibHDF5
import STNModel
import STNONNX
import STNTestSupport
import XCTest

func fixtureBytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: ONNXImporterTests.fixtures.appendingPathComponent("onnx/\(name).onnx")))
}

final class ONNXImporterTests: XCTestCase {
    static let fixtures = FixturePaths.fixtures

    func bytes(_ name: String) throws -> [UInt8] { try fixtureBytes(name) }

    /// Converts a fixture, runs every input of `<name>-expected.h5` through the engine and
    /// returns the largest differences from ONNX Runtime's output and PyTorch's theta.
    func run(_ name: String, probabilities: Bool = false) throws -> (output: Float, theta: Float) {
        let converted = try ONNXImporter.convert(bytes: try bytes(name), name: name)
        let engine = try Engine(weights: converted.weights, threads: 1)
        let file = try HDF5File(
            path: Self.fixtures.appendingPathComponent("onnx/\(name)-expected.h5").path, mode: .read)
        defer { try? file.close() }
        let input = try file.readFloats("input")
        let output = try file.readFloats("output")
        let theta = file.hasDataset("theta") ? try file.readFloats("theta") : nil
        XCTAssertEqual(input.shape.count, 4)
        XCTAssertEqual(input.shape[1], 1, "a 1-channel NCHW frame is the engine's HWC frame")
        let frame = input.values.count / input.shape[0]
        let classes = output.shape[1]
        var worst: (output: Float, theta: Float) = (0, 0)
        for n in 0 ..< input.shape[0] {
            var result = InferenceResult()
            Array(input.values[n * frame ..< (n + 1) * frame]).withUnsafeBufferPointer {
                engine.infer(frame: $0.baseAddress!, into: &result)
            }
            XCTAssertEqual(result.classCount, classes)
            for k in 0 ..< classes {
                let expected = output.values[n * classes + k]
                let got = probabilities ? exp(result.logProbs[k]) : result.logProbs[k]
                worst.output = max(worst.output, abs(got - expected))
            }
            if let theta {
                XCTAssertEqual(result.thetaCount, 6)
                for k in 0 ..< 6 { worst.theta = max(worst.theta, abs(result.theta[k] - theta.values[n * 6 + k])) }
            }
        }
        print("\(name): max |engine - ONNX Runtime| \(worst.output), max |theta - PyTorch| \(worst.theta)")
        XCTAssertLessThan(worst.output, 1e-4, name)
        XCTAssertLessThan(worst.theta, 1e-4, name)
        return worst
    }

    func testCNNMatchesONNXRuntime() throws { _ = try run("cnn") }

    /// A real AffineGrid node (opset 20) in place of the exporter's decomposed grid gives
    /// the same model.
    func testAffineGridNode() throws {
        var model = try Onnx_ModelProto(serializedBytes: try bytes("st-cnn"))
        XCTAssertEqual(model.graph.node[11].opType, "Transpose")
        XCTAssertEqual(model.graph.node[15].output, ["view_5"])
        var size = Onnx_TensorProto()
        size.name = "grid_size"
        size.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        size.dims = [4]
        size.rawData = Data(
            [Int64(1), 1, 42, 42].flatMap { value in (0 ..< 8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } })
        model.graph.initializer.append(size)
        var grid = Onnx_NodeProto()
        grid.opType = "AffineGrid"
        grid.input = ["view_1", "grid_size"]
        grid.output = ["view_5"]
        model.graph.node.replaceSubrange(11 ... 15, with: [grid])
        let converted = try ONNXImporter.convert(bytes: try model.serializedBytes(), name: "st-cnn")
        let original = try ONNXImporter.convert(bytes: try bytes("st-cnn"), name: "st-cnn")
        XCTAssertEqual(converted.architecture.modelDescription, original.architecture.modelDescription)
        XCTAssertEqual(converted.weights, original.weights)
    }
    func testSTCNNMatchesONNXRuntime() throws { _ = try run("st-cnn") }
    func testTutorialMatchesONNXRuntime() throws { _ = try run("tutorial") }

    /// The exported initializers are the shipped weights: conversion gives them back by name.
    func testConvertedWeightsEqualShippedWeights() throws {
        for name in ["cnn", "st-cnn"] {
            let converted = try ONNXImporter.convert(bytes: try bytes(name), name: name)
            let shipped = try WeightFile.read(
                FixturePaths.inPackage("Weights/\(name).h5"))
            XCTAssertEqual(Set(converted.weights.tensors.keys), Set(shipped.weights.tensors.keys), name)
            for (key, values) in shipped.weights.tensors {
                XCTAssertEqual(converted.weights[key], values, "\(name) \(key)")
            }
            XCTAssertEqual(converted.architecture.parameters.map(\.shape), shipped.architecture.parameters.map(\.shape))
        }
    }

    func testAffineGridChainBecomesAffineGrid() throws {
        let converted = try ONNXImporter.convert(bytes: try bytes("st-cnn"), name: "st-cnn")
        let text = converted.architecture.modelDescription.text
        XCTAssertTrue(text.contains("affine_grid"), text)
        XCTAssertTrue(text.contains("resize"), text)
        // The description round-trips through its text form.
        XCTAssertEqual(try Architecture(parsing: text).modelDescription, converted.architecture.modelDescription)
    }

    /// Every truncation is a thrown error, never a trap.
    func testTruncationsThrow() throws {
        for name in ["small", "tutorial"] {
            let whole = try bytes(name)
            for i in 0 ..< 64 {
                let length = whole.count * i / 64
                XCTAssertThrowsError(try ONNXImporter.convert(bytes: Array(whole[..<length]), name: name)) { error in
                    XCTAssertFalse("\(error)".contains("\n"), "\(error)")
                }
            }
        }
    }

    /// Random byte changes (a fixed xorshift sequence) never trap: each is a model or an error.
    func testCorruptedBytesNeverTrap() throws {
        for name in ["st-cnn", "small"] {
            let whole = try bytes(name)
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            func next() -> Int {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                return Int(truncatingIfNeeded: state >> 1)
            }
            for _ in 0 ..< 300 {
                var damaged = whole
                for _ in 0 ... next() % 4 { damaged[next() % damaged.count] = UInt8(truncatingIfNeeded: next()) }
                do {
                    _ = try ONNXImporter.convert(bytes: damaged, name: name)
                } catch {
                    XCTAssertFalse("\(error)".contains("\n"), "\(error)")
                }
            }
        }
    }

    func testUnsupportedOperatorIsNamed() throws {
        var model = try Onnx_ModelProto(serializedBytes: try bytes("cnn"))
        model.graph.node[2].opType = "Erf"
        let patched: [UInt8] = try model.serializedBytes()
        XCTAssertThrowsError(try ONNXImporter.convert(bytes: patched, name: "cnn")) { error in
            let message = "\(error)"
            XCTAssertFalse(message.contains("\n"), message)
            XCTAssertTrue(message.contains("node 2"), message)
            XCTAssertTrue(message.contains("Erf"), message)
        }
    }

    /// A BatchNormalization right after a Conv becomes a batchnorm layer with its parameters
    /// under the scale's prefix: with mean 0, variance 1 - eps, scale 1 and shift 0 the
    /// answers stay ONNX Runtime's.
    func testBatchNormAfterConv() throws {
        var model = try Onnx_ModelProto(serializedBytes: try bytes("cnn"))
        func constant(_ name: String, _ values: [Float]) -> Onnx_TensorProto {
            var t = Onnx_TensorProto()
            t.name = name
            t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
            t.dims = [Int64(values.count)]
            t.floatData = values
            return t
        }
        let epsilon: Float = 1e-5
        model.graph.initializer += [
            constant("bn.weight", [Float](repeating: 1, count: 36)),
            constant("bn.bias", [Float](repeating: 0, count: 36)),
            constant("bn.running_mean", [Float](repeating: 0, count: 36)),
            constant("bn.running_var", [Float](repeating: 1 - epsilon, count: 36)),
        ]
        var node = Onnx_NodeProto()
        node.opType = "BatchNormalization"
        node.input = ["conv2d", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]
        node.output = ["normed"]
        var attribute = Onnx_AttributeProto()
        attribute.name = "epsilon"
        attribute.type = .float
        attribute.f = epsilon
        node.attribute = [attribute]
        model.graph.node[1].input[0] = "normed"
        model.graph.node.insert(node, at: 1)
        let converted = try ONNXImporter.convert(bytes: try model.serializedBytes(), name: "cnn-bn")
        XCTAssertEqual(converted.architecture.modelDescription.layers[1].operation, .batchNorm(epsilon: epsilon))
        XCTAssertEqual(converted.weights["bn.running_var"].count, 36)
        let engine = try Engine(weights: converted.weights, threads: 1)
        let reference = try Engine(
            weights: try ONNXImporter.convert(bytes: try bytes("cnn"), name: "cnn").weights, threads: 1)
        let frame = [Float]((0 ..< 42 * 42).map { Float($0 % 37) / 37 })
        var a = InferenceResult()
        var b = InferenceResult()
        frame.withUnsafeBufferPointer {
            engine.infer(frame: $0.baseAddress!, into: &a)
            reference.infer(frame: $0.baseAddress!, into: &b)
        }
        for k in 0 ..< 10 { XCTAssertEqual(a.logProbs[k], b.logProbs[k], accuracy: 1e-5) }
    }

    func testMissingInitializerAndExternalDataAreRefused() throws {
        var model = try Onnx_ModelProto(serializedBytes: try bytes("cnn"))
        model.graph.initializer.removeAll { $0.name == "convs.3.bias" }
        XCTAssertThrowsError(try ONNXImporter.convert(bytes: try model.serializedBytes(), name: "cnn")) {
            XCTAssertTrue("\($0)".contains("convs.3.bias"), "\($0)")
        }
        model = try Onnx_ModelProto(serializedBytes: try bytes("cnn"))
        model.graph.initializer[0].dataLocation = .external
        XCTAssertThrowsError(try ONNXImporter.convert(bytes: try model.serializedBytes(), name: "cnn")) {
            XCTAssertTrue("\($0)".contains("external"), "\($0)")
        }
        model = try Onnx_ModelProto(serializedBytes: try bytes("cnn"))
        model.graph.initializer[0].dims = [Int64.max, 2]
        XCTAssertThrowsError(try ONNXImporter.convert(bytes: try model.serializedBytes(), name: "cnn"))
        // A node reading a tensor no earlier node writes (a cycle, or nodes out of order).
        model = try Onnx_ModelProto(serializedBytes: try bytes("cnn"))
        model = try Onnx_ModelProto(serializedBytes: try bytes("cnn"))
        model.graph.node[0].attribute[model.graph.node[0].attribute.firstIndex { $0.name == "pads" }!].ints = [
            0, 0, 1, 1,
        ]
        // Asymmetric pads have no version-1 layer: the model becomes a version-2 description
        // of dense tensors, which the engine runs to the same ten log-probabilities' shape.
        let padded = try ONNXImporter.convert(bytes: try model.serializedBytes(), name: "cnn")
        XCTAssertTrue(padded.architecture.isGeneral)
        XCTAssertEqual(padded.architecture.modelDescription.version, 2)
        XCTAssertTrue(padded.architecture.modelDescription.text.contains("pads=0,0,1,1"))
        let engine = try Engine(weights: padded.weights, threads: 1)
        let frame = [Float](repeating: 0.5, count: engine.frameCount)
        let output = frame.withUnsafeBufferPointer { Array(engine.infer(tensor: $0.baseAddress!)) }
        XCTAssertEqual(output.count, 10)
        XCTAssertEqual(output.map { exp($0) }.reduce(0, +), 1, accuracy: 1e-4)
        model = try Onnx_ModelProto(serializedBytes: try bytes("cnn"))
        model.graph.node.swapAt(1, 2)
        XCTAssertThrowsError(try ONNXImporter.convert(bytes: try model.serializedBytes(), name: "cnn")) {
            XCTAssertTrue("\($0)".contains("no earlier node"), "\($0)")
        }
    }
}

/// `small` (Tests/Fixtures/onnx/README.md) has a BatchNormalization after an AveragePool and
/// a padded AveragePool; its front (Sub/Div, a padded strided Conv, the align_corners=1
/// grid, border sampling) is checked on the graph cut after the GridSample.
final class ONNXSmallModelTests: XCTestCase {
    /// The whole model (a batch norm after a pool, padded pooling) converts to the engine's
    /// fast layers, which run it to ONNX Runtime's answers.
    func testSmallMatchesONNXRuntime() throws {
        let converted = try ONNXImporter.convert(bytes: try fixtureBytes("small"), name: "small")
        XCTAssertFalse(converted.architecture.isGeneral)
        let text = converted.architecture.modelDescription.text
        XCTAssertTrue(text.contains("\nbatchnorm "), text)
        XCTAssertTrue(text.contains("padding="), text)
        let engine = try Engine(weights: converted.weights, threads: 1)
        let file = try HDF5File(
            path: ONNXImporterTests.fixtures.appendingPathComponent("onnx/small-expected.h5").path, mode: .read)
        defer { try? file.close() }
        let input = try file.readFloats("input")
        let output = try file.readFloats("output")
        let frame = input.values.count / input.shape[0]
        let classes = output.shape[1]
        XCTAssertEqual(engine.frameCount, frame)
        var worst: Float = 0
        for n in 0 ..< input.shape[0] {
            let got = Array(input.values[n * frame ..< (n + 1) * frame]).withUnsafeBufferPointer {
                Array(engine.infer(tensor: $0.baseAddress!))
            }
            XCTAssertEqual(got.count, classes)
            for k in 0 ..< min(classes, got.count) {
                worst = max(worst, abs(got[k] - output.values[n * classes + k]))
            }
            // stn-infer's answer: the log of the Softmax's probabilities, from its logits.
            var result = InferenceResult()
            Array(input.values[n * frame ..< (n + 1) * frame]).withUnsafeBufferPointer {
                engine.infer(frame: $0.baseAddress!, into: &result)
            }
            XCTAssertEqual(result.classCount, classes)
            for k in 0 ..< classes {
                worst = max(worst, abs(exp(result.logProbs[k]) - output.values[n * classes + k]))
            }
        }
        print("small: max |engine - ONNX Runtime| \(worst) over \(input.shape[0]) inputs")
        XCTAssertLessThan(worst, 1e-4)
    }

    func testSmallFrontMatchesPyTorchTheta() throws {
        var model = try Onnx_ModelProto(serializedBytes: try fixtureBytes("small"))
        model.graph.node.removeSubrange(14...)
        // The engine answers with a vector: pool the sampled image to one value.
        var pool = Onnx_NodeProto()
        pool.opType = "MaxPool"
        pool.input = ["grid_sampler"]
        pool.output = ["pooled"]
        var kernel = Onnx_AttributeProto()
        kernel.name = "kernel_shape"
        kernel.type = .ints
        kernel.ints = [28, 28]
        var strides = kernel
        strides.name = "strides"
        pool.attribute = [kernel, strides]
        var flatten = Onnx_NodeProto()
        flatten.opType = "Flatten"
        flatten.input = ["pooled"]
        flatten.output = ["flat"]
        model.graph.node += [pool, flatten]
        model.graph.output[0].name = "flat"
        let converted = try ONNXImporter.convert(bytes: try model.serializedBytes(), name: "small-front")
        let layers = converted.architecture.modelDescription.layers
        // Sub then Div by scalars: one normalize layer.
        guard case .normalize(let mean, let std) = layers[0].operation else { return XCTFail("\(layers[0])") }
        XCTAssertEqual(layers.filter { $0.operation.keyword == "normalize" }.count, 1)
        XCTAssertEqual(mean.count, 1)
        XCTAssertEqual(std.count, 1)
        XCTAssertEqual(
            layers[1].operation,
            STNModel.Operation.conv(
                outChannels: 8, kernel: Size2(square: 5), stride: Size2(square: 2), padding: Size2(square: 2),
                bias: true))
        XCTAssertTrue(
            layers.contains {
                $0.operation == STNModel.Operation.transformGrid(.affine, size: Size2(28, 28), alignCorners: true)
            })
        XCTAssertEqual(
            layers[layers.count - 2].operation,
            STNModel.Operation.gridSample(mode: .bilinear, padding: .border, alignCorners: true))

        let engine = try Engine(weights: converted.weights, threads: 1)
        let file = try HDF5File(
            path: ONNXImporterTests.fixtures.appendingPathComponent("onnx/small-expected.h5").path, mode: .read)
        defer { try? file.close() }
        let input = try file.readFloats("input")
        let theta = try file.readFloats("theta")
        let frame = input.values.count / input.shape[0]
        var worst: Float = 0
        for n in 0 ..< input.shape[0] {
            var result = InferenceResult()
            Array(input.values[n * frame ..< (n + 1) * frame]).withUnsafeBufferPointer {
                engine.infer(frame: $0.baseAddress!, into: &result)
            }
            XCTAssertEqual(result.thetaCount, 6)
            for k in 0 ..< 6 { worst = max(worst, abs(result.theta[k] - theta.values[n * 6 + k])) }
        }
        print("small (front): max |theta - PyTorch| \(worst)")
        XCTAssertLessThan(worst, 1e-4)
    }

    /// stn-convert's output: the weight file reads back as the same model and weights.
    func testWeightFileRoundTrip() throws {
        let converted = try ONNXImporter.convert(bytes: try fixtureBytes("tutorial"), name: "tutorial")
        let path = NSTemporaryDirectory() + "stn-onnx-\(UUID().uuidString).h5"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try WeightFile(weights: converted.weights).write(to: path)
        let read = try WeightFile.read(path)
        XCTAssertEqual(read.architecture.modelDescription, converted.architecture.modelDescription)
        XCTAssertEqual(read.weights, converted.weights)
    }
}
