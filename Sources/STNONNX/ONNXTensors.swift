import Foundation  // Data, as SwiftProtobuf stores bytes fields
import ONNXProto
import STNModel

/// Why an ONNX model cannot be imported: always one line, naming the node or tensor.
public struct ONNXError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The most values one initializer may hold (as the description's total tensor budget).
let maximumConstantValues = 1 << 28

/// An initializer decoded to numbers: its dims and its values as floats or integers.
struct Constant {
    var dims: [Int]
    var floats: [Float]
    var count: Int { floats.count }
}

/// Reads initializers lazily and checks each one: no external data, sane dims, data that
/// matches the dims, a supported element type.
struct Initializers {
    private var tensors: [String: Onnx_TensorProto] = [:]

    init(_ graph: Onnx_GraphProto) throws {
        for tensor in graph.initializer {
            guard !tensor.name.isEmpty else { throw ONNXError("an initializer has no name") }
            guard tensors[tensor.name] == nil else {
                throw ONNXError("initializer '\(shown(tensor.name))' is given twice")
            }
            tensors[tensor.name] = tensor
        }
    }

    func contains(_ name: String) -> Bool { tensors[name] != nil }

    /// The dims of an initializer, each checked, and their product.
    func dims(_ name: String) throws -> (dims: [Int], count: Int) {
        guard let tensor = tensors[name] else { throw ONNXError("missing initializer '\(shown(name))'") }
        guard tensor.dims.count <= 8 else {
            throw ONNXError("initializer '\(shown(name))' has \(tensor.dims.count) dimensions")
        }
        var count = 1
        var dims: [Int] = []
        for dim in tensor.dims {
            guard dim >= 0, dim <= Int64(maximumConstantValues) else {
                throw ONNXError("initializer '\(shown(name))' has dimension \(dim)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(dim))
            guard !overflow, product <= maximumConstantValues else {
                throw ONNXError("initializer '\(shown(name))' \(tensor.dims) is too large")
            }
            count = product
            dims.append(Int(dim))
        }
        return (dims, count)
    }

    /// A float (or double, converted) initializer; every value finite.
    func floats(_ name: String) throws -> Constant {
        guard let tensor = tensors[name] else { throw ONNXError("missing initializer '\(shown(name))'") }
        guard tensor.dataLocation != .external, tensor.externalData.isEmpty else {
            throw ONNXError("initializer '\(shown(name))' keeps its data in an external file (not supported)")
        }
        let (dims, count) = try self.dims(name)
        var values: [Float]
        switch Onnx_TensorProto.DataType(rawValue: Int(tensor.dataType)) {
        case .float:
            if tensor.hasRawData {
                guard tensor.rawData.count == count * 4 else {
                    throw ONNXError(
                        "initializer '\(shown(name))' has \(tensor.rawData.count) bytes, expected \(count * 4)")
                }
                values = tensor.rawData.withUnsafeBytes { raw in
                    (0 ..< count).map {
                        Float(
                            bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))
                        )
                    }
                }
            } else {
                guard tensor.floatData.count == count else {
                    throw ONNXError(
                        "initializer '\(shown(name))' has \(tensor.floatData.count) values, expected \(count)")
                }
                values = tensor.floatData
            }
        case .double:
            if tensor.hasRawData {
                guard tensor.rawData.count == count * 8 else {
                    throw ONNXError(
                        "initializer '\(shown(name))' has \(tensor.rawData.count) bytes, expected \(count * 8)")
                }
                values = tensor.rawData.withUnsafeBytes { raw in
                    (0 ..< count).map {
                        Float(
                            Double(
                                bitPattern: UInt64(
                                    littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))))
                    }
                }
            } else {
                guard tensor.doubleData.count == count else {
                    throw ONNXError(
                        "initializer '\(shown(name))' has \(tensor.doubleData.count) values, expected \(count)")
                }
                values = tensor.doubleData.map { Float($0) }
            }
        default:
            throw ONNXError("initializer '\(shown(name))' has element type \(tensor.dataType), expected float")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw ONNXError("initializer '\(shown(name))' has a non-finite value at index \(bad)")
        }
        return Constant(dims: dims, floats: values)
    }

    /// An int64 (or int32) initializer, as for shapes and axes.
    func ints(_ name: String) throws -> [Int] {
        guard let tensor = tensors[name] else { throw ONNXError("missing initializer '\(shown(name))'") }
        guard tensor.dataLocation != .external, tensor.externalData.isEmpty else {
            throw ONNXError("initializer '\(shown(name))' keeps its data in an external file (not supported)")
        }
        let (_, count) = try self.dims(name)
        guard count <= 64 else { throw ONNXError("initializer '\(shown(name))' has \(count) values, expected a shape") }
        let width: Int
        switch Onnx_TensorProto.DataType(rawValue: Int(tensor.dataType)) {
        case .int64: width = 8
        case .int32: width = 4
        default: throw ONNXError("initializer '\(shown(name))' has element type \(tensor.dataType), expected int64")
        }
        guard tensor.hasRawData, tensor.rawData.count == count * width else {
            throw ONNXError("initializer '\(shown(name))' does not hold \(count) integers in raw_data")
        }
        return tensor.rawData.withUnsafeBytes { raw in
            (0 ..< count).map {
                width == 8
                    ? Int(
                        truncatingIfNeeded: Int64(
                            littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)))
                    : Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)))
            }
        }
    }
}

/// A name as it appears in a message: at most 60 characters, no control characters.
func shown(_ name: String) -> String {
    let clean = String(
        String.UnicodeScalarView(name.unicodeScalars.map { $0.value < 32 || $0.value == 127 ? "?" : $0 }))
    return clean.count > 60 ? String(clean.prefix(60)) + "..." : clean
}

/// A tensor name in the description's alphabet (letters, digits, `_ . - /`, at most 100 characters).
func sanitized(_ name: String) -> String {
    let bytes = name.utf8.prefix(100).map { byte -> UInt8 in
        let ok =
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 95
            || byte == 46 || byte == 45 || byte == 47
        return ok ? byte : 95
    }
    // Parameter names are HDF5 paths: no leading '/', no empty or '.' part (the legacy
    // exporter's tensors are named "/conv1/Conv_output_0"), or the weight file would not load.
    let parts = String(decoding: bytes, as: UTF8.self).split(separator: "/").filter { $0 != "." }
    return parts.isEmpty ? "t" : parts.joined(separator: "/")
}

extension Onnx_NodeProto {
    func attribute(_ name: String) -> Onnx_AttributeProto? { attribute.first { $0.name == name } }
    func int(_ name: String, _ fallback: Int) -> Int {
        guard let a = attribute(name), a.hasI else { return fallback }
        return Int(truncatingIfNeeded: a.i)
    }
    func ints(_ name: String) -> [Int]? {
        guard let a = attribute(name) else { return nil }
        return a.ints.map { Int(truncatingIfNeeded: $0) }
    }
    func float(_ name: String, _ fallback: Float) -> Float {
        guard let a = attribute(name), a.hasF else { return fallback }
        return a.f
    }
    func string(_ name: String, _ fallback: String) -> String {
        guard let a = attribute(name), a.hasS else { return fallback }
        return String(decoding: a.s, as: UTF8.self)
    }

    /// A GridSample's sampling mode (from opset 20 bilinear is spelt `linear`; both are
    /// accepted) and padding, or why they are not supported.
    func gridSampleOptions() -> Result<(mode: SampleMode, padding: SamplePadding), SamplerOptionError> {
        let mode: SampleMode
        switch string("mode", "linear") {
        case "linear", "bilinear": mode = .bilinear
        case "nearest": mode = .nearest
        case let other:
            return .failure(SamplerOptionError("mode '\(shown(other))' is not supported (linear and nearest are)"))
        }
        let padding = string("padding_mode", "zeros")
        guard let known = SamplePadding(rawValue: padding) else {
            return .failure(SamplerOptionError("padding_mode '\(shown(padding))' is not supported"))
        }
        return .success((mode, known))
    }
}

/// Why a GridSample's attributes are not supported (the importer adds the node's name).
struct SamplerOptionError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
