import Foundation  // Data, as SwiftProtobuf stores bytes fields
import ONNXProto

/// A value known at conversion: an initializer, a bound graph input, a Constant node, or
/// shape arithmetic (Shape, Gather, Unsqueeze, Concat, Cast) folded at the fixed input shape.
struct FoldedConstant {
    var dims: [Int]
    /// The values, row-major (integers exactly up to 2^53).
    var values: [Double]
    var isInteger: Bool

    var count: Int { values.count }
    var floats: [Float] { values.map { Float($0) } }

    /// The most values a folded constant may hold.
    static let maximumValues = 1 << 24

    /// Decodes a tensor: float, double, int64, int32 (raw or typed fields), never external.
    init(_ tensor: Onnx_TensorProto, name: String) throws {
        func fail(_ message: String) -> ONNXError { ONNXError("tensor '\(shown(name))' \(message)") }
        guard tensor.dataLocation != .external, tensor.externalData.isEmpty else {
            throw fail("keeps its data in an external file (not supported)")
        }
        guard tensor.dims.count <= 8 else { throw fail("has \(tensor.dims.count) dimensions") }
        var count = 1
        for dim in tensor.dims {
            guard dim >= 0, dim <= Int64(FoldedConstant.maximumValues) else { throw fail("has dimension \(dim)") }
            count *= Int(dim)
            guard count <= FoldedConstant.maximumValues else { throw fail("\(tensor.dims) is too large") }
        }
        dims = tensor.dims.map { Int($0) }
        let raw = tensor.hasRawData ? tensor.rawData : nil
        func check(_ found: Int) throws {
            guard found == count else { throw fail("holds \(found) values, expected \(count)") }
        }
        switch Onnx_TensorProto.DataType(rawValue: Int(tensor.dataType)) {
        case .float:
            isInteger = false
            if let raw {
                try check(raw.count / 4)
                guard raw.count == count * 4 else { throw fail("has \(raw.count) bytes") }
                values = raw.withUnsafeBytes { bytes in
                    (0 ..< count).map {
                        Double(
                            Float(
                                bitPattern: UInt32(
                                    littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))))
                    }
                }
            } else {
                try check(tensor.floatData.count)
                values = tensor.floatData.map { Double($0) }
            }
        case .double:
            isInteger = false
            if let raw {
                guard raw.count == count * 8 else { throw fail("has \(raw.count) bytes, expected \(count * 8)") }
                values = raw.withUnsafeBytes { bytes in
                    (0 ..< count).map {
                        Double(
                            bitPattern: UInt64(
                                littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))
                    }
                }
            } else {
                try check(tensor.doubleData.count)
                values = tensor.doubleData
            }
        case .int64:
            isInteger = true
            if let raw {
                guard raw.count == count * 8 else { throw fail("has \(raw.count) bytes, expected \(count * 8)") }
                values = raw.withUnsafeBytes { bytes in
                    (0 ..< count).map {
                        Double(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)))
                    }
                }
            } else {
                try check(tensor.int64Data.count)
                values = tensor.int64Data.map { Double($0) }
            }
        case .int32:
            isInteger = true
            if let raw {
                guard raw.count == count * 4 else { throw fail("has \(raw.count) bytes, expected \(count * 4)") }
                values = raw.withUnsafeBytes { bytes in
                    (0 ..< count).map {
                        Double(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)))
                    }
                }
            } else {
                try check(tensor.int32Data.count)
                values = tensor.int32Data.map { Double($0) }
            }
        default:
            throw fail("has element type \(tensor.dataType) (float, double, int32 and int64 are supported)")
        }
        if !isInteger, let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw fail("has a non-finite value at index \(bad)")
        }
    }

    init(dims: [Int], values: [Double], isInteger: Bool) {
        self.dims = dims
        self.values = values
        self.isInteger = isInteger
    }

    /// Integers that fit shapes and axes (|v| < 2^40).
    func shapeInts(_ what: String) throws -> [Int] {
        guard values.allSatisfy({ $0 == $0.rounded() && abs($0) < 1_099_511_627_776 }) else {
            throw ONNXError("\(what) \(values.prefix(8)) are not integers")
        }
        return values.map { Int($0) }
    }
}
