/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TensorFlow's
/// record files, and the masking those files store it with.
public enum CRC32C {
    /// One entry per byte value: the CRC of that byte, bit by bit.
    private static let table: [UInt32] = (0 ..< 256).map { byte in
        var crc = UInt32(byte)
        for _ in 0 ..< 8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The CRC-32C of `bytes` (initial value and final xor 0xFFFFFFFF, as iSCSI and SSE4.2).
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { table in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// The stored form: rotated right by 15 bits plus a constant, so that a CRC of data that
    /// itself holds CRCs stays well distributed (TensorFlow's `crc32c::Mask`).
    public static func masked(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
