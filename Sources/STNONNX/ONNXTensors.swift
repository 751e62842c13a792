import Foundation  // Data, as SwiftProtobuf stores bytes fields
import ONNXProto
import STNModel

/// Why an ONNX model cannot be imported: always one line, naming the node or tensor.
public struct ONNXError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A constant as floats (`ConstantTable.floats`): its dims and values.
struct Constant {
    var dims: [Int]
    var floats: [Float]
    var count: Int { floats.count }
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
