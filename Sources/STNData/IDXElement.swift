/// The type of an IDX file's values, the third byte of its magic: unsigned bytes (MNIST's
/// images, every labels file) or float32 (images only: stn-train --train and stn-infer).
public enum IDXElement: UInt8, Sendable {
    /// Unsigned bytes, 0-255.
    case unsignedByte = 0x08
    /// IEEE 754 single precision, big-endian (the format's byte order): the model's input
    /// values as they are.
    case float32 = 0x0D

    /// Bytes per value.
    public var size: Int { self == .float32 ? 4 : 1 }

    /// `count` big-endian float32 values at `bytes` (any alignment) into `values`; the index
    /// of the first that is NaN or infinite (all are written), or nil.
    static func decodeFloats(_ bytes: UnsafeRawPointer, count: Int, into values: UnsafeMutablePointer<Float>) -> Int? {
        var firstBad: Int?
        for i in 0 ..< count {
            let v = Float(bitPattern: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            values[i] = v
            if firstBad == nil && !v.isFinite { firstBad = i }
        }
        return firstBad
    }

    /// The index of the first of `count` big-endian float32 values at `bytes` that is NaN or
    /// infinite, or nil.
    static func firstNonFinite(_ bytes: UnsafeRawPointer, count: Int) -> Int? {
        // An exponent of all ones (0x7F8 after the sign) is infinity or NaN.
        for i in 0 ..< count {
            let bits = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
            if bits & 0x7F80_0000 == 0x7F80_0000 { return i }
        }
        return nil
    }

    /// `values` as big-endian float32 bytes.
    static func encode(_ values: [Float]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 4 * values.count)
        bytes.withUnsafeMutableBytes { target in
            for (i, v) in values.enumerated() {
                target.storeBytes(of: v.bitPattern.bigEndian, toByteOffset: 4 * i, as: UInt32.self)
            }
        }
        return bytes
    }
}
